//! Selector health: what share of a run's articles had each field filled, compared with the
//! source's earlier runs. A portal that changes its template empties fields without an error;
//! this is where that shows.

use crate::Found;
use crate::config::Source;
use crate::model::{Article, FieldHealth, HEALTH_FIELDS, Health, RunReport};

/// Earlier runs (those that read articles) a run's fill shares are compared with.
pub const HEALTH_RUNS: usize = 10;

/// A field is judged only when its median share over the earlier runs makes at least this many
/// filled pages expected in the run; otherwise the previous verdict stands.
pub const MIN_EXPECTED_FILLED: f64 = 2.0;

/// Runs read from the archive to find [`HEALTH_RUNS`] that read articles.
pub const HEALTH_SCAN: usize = 50;

/// Whether `article` has `field` filled as its page gave it (`found`): the list page's date
/// fills `published`, and the body's first paragraph `summary`, when their selectors find none.
pub fn is_filled(article: &Article, found: Found, field: &str) -> bool {
    let given = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.trim().is_empty());
    match field {
        "title" => !article.title.trim().is_empty(),
        "published" => found.dated && article.published.is_some(),
        "body" => !article.body_text.trim().is_empty(),
        "summary" => found.summarised && !article.summary.trim().is_empty(),
        "category" => given(&article.category),
        "credit" => given(&article.credit),
        "images" => !article.images.is_empty(),
        _ => false,
    }
}

/// Counts one article read into the run's fill counts.
pub fn count(report: &mut RunReport, article: &Article, found: Found) {
    report.articles_read += 1;
    for field in HEALTH_FIELDS {
        tally(report, field, is_filled(article, found, field));
    }
}

/// Counts a page that extraction refused because the `missing` selector (`article.title` or
/// `article.body`) matched nothing or gave no text: that field is empty, and when the body is
/// the one missing the title was found.
pub fn count_unmatched(report: &mut RunReport, missing: &str) {
    report.articles_read += 1;
    match missing {
        "article.title" => tally(report, "title", false),
        "article.body" => {
            tally(report, "title", true);
            tally(report, "body", false);
            tally(report, "images", false);
        }
        _ => {}
    }
}

fn tally(report: &mut RunReport, field: &str, filled: bool) {
    let fill = report.filled.entry(field.to_string()).or_default();
    fill.read += 1;
    fill.filled += u64::from(filled);
}

/// The selector of `source` that fills `field`.
pub fn selector(source: &Source, field: &str) -> Option<String> {
    let article = &source.article;
    let css = match field {
        "title" => Some(&article.title),
        "published" => article.published.as_ref(),
        // Images are read from the body.
        "body" | "images" => Some(&article.body),
        "summary" => article.summary.as_ref(),
        "category" => article.category.as_ref(),
        "credit" => article.credit.as_ref(),
        _ => None,
    };
    css.map(|css| css.as_str().to_string())
}

/// The health of `source` after `run`, given its earlier runs (newest first). A field is
/// degraded when its share falls below half its median over the last [`HEALTH_RUNS`] runs that
/// read articles; a run that read too few pages to tell ([`MIN_EXPECTED_FILLED`]) keeps the
/// field's verdict of the run before it.
pub fn assess(source: &Source, run: &RunReport, earlier: &[RunReport]) -> Health {
    let compared: Vec<&RunReport> = earlier
        .iter()
        .filter(|r| r.articles_read > 0 && !r.filled.is_empty())
        .take(HEALTH_RUNS)
        .collect();
    let previous = earlier.iter().find_map(|r| r.health.as_ref());
    let fields = HEALTH_FIELDS
        .iter()
        .map(|&field| {
            let median = median(compared.iter().filter_map(|r| r.fill(field)).collect());
            let fill = run.fill(field);
            let judged = run.filled.get(field).map_or(0, |f| f.read);
            // Judged when the earlier runs make at least MIN_EXPECTED_FILLED filled pages
            // likely: one page without the sparse credit line is no evidence.
            let verdict = match (fill, median) {
                (Some(fill), Some(median)) if median * judged as f64 >= MIN_EXPECTED_FILLED => {
                    Some(fill < median / 2.0)
                }
                _ => None,
            };
            let carried = || {
                previous
                    .and_then(|h| h.fields.iter().find(|f| f.field == field))
                    .is_some_and(|f| f.degraded)
            };
            FieldHealth {
                field: field.to_string(),
                selector: selector(source, field),
                fill,
                median,
                degraded: verdict.unwrap_or_else(carried),
            }
        })
        .collect::<Vec<_>>();
    let empty_list_pages: Vec<String> = run
        .list_items
        .iter()
        .filter(|page| page.items == 0)
        .map(|page| page.url.clone())
        .collect();
    let list_selector =
        (!empty_list_pages.is_empty()).then(|| source.list.item.as_str().to_string());
    Health {
        degraded: fields.iter().any(|f| f.degraded) || !empty_list_pages.is_empty(),
        runs_compared: compared.len(),
        fields,
        empty_list_pages,
        list_selector,
    }
}

fn median(mut shares: Vec<f64>) -> Option<f64> {
    if shares.is_empty() {
        return None;
    }
    shares.sort_by(f64::total_cmp);
    let mid = shares.len() / 2;
    Some(match shares.len() % 2 {
        0 => (shares[mid - 1] + shares[mid]) / 2.0,
        _ => shares[mid],
    })
}

/// Logs a warning per degraded field, naming its selector, and per empty list page.
pub fn warn(source: &str, health: &Health) {
    for field in health.degraded_fields() {
        tracing::warn!(
            source,
            field = %field.field,
            selector = field.selector.as_deref().unwrap_or("(none)"),
            fill = field.fill.unwrap_or(0.0),
            median = field.median.unwrap_or(0.0),
            "selector health: field {} fell below half its median fill; check its selector",
            field.field
        );
    }
    for url in &health.empty_list_pages {
        tracing::warn!(
            source,
            %url,
            selector = health.list_selector.as_deref().unwrap_or("(none)"),
            "selector health: list page gave no items; check the list item selector"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fill, ListCount};

    fn source() -> Source {
        let config = crate::config::parse(crate::config::SHIPPED, "gazette.toml").unwrap();
        config.sources[0].clone()
    }

    fn run(body: (u64, u64), list_items: &[u64]) -> RunReport {
        let mut run = RunReport {
            articles_read: body.1,
            list_items: list_items
                .iter()
                .map(|&items| ListCount {
                    url: format!("http://portal/list?items={items}"),
                    items,
                })
                .collect(),
            ..RunReport::default()
        };
        if body.1 > 0 {
            let fill = Fill {
                read: body.1,
                filled: body.0,
            };
            run.filled.insert("body".into(), fill);
            run.filled.insert(
                "title".into(),
                Fill {
                    filled: body.1,
                    ..fill
                },
            );
        }
        run
    }

    #[test]
    fn a_field_below_half_its_median_degrades_and_the_verdict_outlives_a_run_without_articles() {
        let source = source();
        // Earlier runs, newest first: body filled 90%, 100%, 80%: median 90%.
        let mut earlier = vec![
            run((9, 10), &[10]),
            run((10, 10), &[10]),
            run((8, 10), &[10]),
        ];
        let fine = assess(&source, &run((5, 10), &[10]), &earlier);
        assert!(!fine.degraded, "{fine:#?}");
        let mut broken = run((4, 10), &[10]);
        let health = assess(&source, &broken, &earlier);
        assert!(health.degraded);
        let named: Vec<&str> = health.degraded_fields().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["body"]);
        assert_eq!(health.runs_compared, 3);
        broken.health = Some(health);
        // A run that read nothing keeps the verdict of the run before it.
        earlier.insert(0, broken);
        let quiet = assess(&source, &run((0, 0), &[]), &earlier);
        assert!(quiet.degraded, "{quiet:#?}");
        let body = quiet.fields.iter().find(|f| f.field == "body").unwrap();
        assert_eq!(body.fill, None);
    }

    #[test]
    fn one_page_without_a_sparse_field_is_no_evidence() {
        let source = source();
        let earlier = vec![run((3, 10), &[10]), run((3, 10), &[10])];
        // Body median 30%: one page without it makes 0.3 expected, too few to judge.
        let health = assess(&source, &run((0, 1), &[10]), &earlier);
        assert!(!health.degraded, "{health:#?}");
        // Seven pages make 2.1 expected: none of them filled is a verdict.
        let health = assess(&source, &run((0, 7), &[10]), &earlier);
        assert!(health.degraded, "{health:#?}");
    }

    #[test]
    fn a_list_page_without_items_degrades_naming_the_item_selector() {
        let source = source();
        let health = assess(&source, &run((10, 10), &[10, 0]), &[]);
        assert!(health.degraded);
        assert_eq!(health.empty_list_pages, ["http://portal/list?items=0"]);
        assert_eq!(
            health.list_selector.as_deref(),
            Some(source.list.item.as_str())
        );
        assert_eq!(health.degraded_fields().count(), 0);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![0.2, 1.0, 0.6]), Some(0.6));
        assert_eq!(median(vec![1.0, 0.0, 0.5, 0.5]), Some(0.5));
    }
}
