//! Selector health as the command line shows it: the lines a crawl adds for a degraded source,
//! and `check --health`'s fill table of the last runs.

use gazette::archive::Archive;
use gazette::config::Config;
use gazette::crawl::health::HEALTH_RUNS;
use gazette::model::{HEALTH_FIELDS, Health, RunReport};

/// One line per degraded field or empty list page of a run; none when the source is healthy.
pub fn degraded_lines(source: &str, health: &Health) -> Vec<String> {
    let mut lines = Vec::new();
    for field in health.degraded_fields() {
        lines.push(format!(
            "  {source}: degraded: {} filled in {} of the articles read (median {} over {} earlier run(s)); selector {}",
            field.field,
            percent(field.fill),
            percent(field.median),
            health.runs_compared,
            field.selector.as_deref().unwrap_or("(none)")
        ));
    }
    for url in &health.empty_list_pages {
        lines.push(format!(
            "  {source}: degraded: list page {url} gave no items; selector {}",
            health.list_selector.as_deref().unwrap_or("(none)")
        ));
    }
    lines
}

fn percent(share: Option<f64>) -> String {
    match share {
        Some(share) => format!("{:.0}%", share * 100.0),
        None => "-".to_string(),
    }
}

/// The fill table of each source's last runs, newest first, and its verdict.
pub fn fill_table(config: &Config, archive: &dyn Archive) -> anyhow::Result<String> {
    let mut out = String::new();
    for source in &config.sources {
        let runs = archive.runs(source.id.as_str(), HEALTH_RUNS)?;
        let verdict = match runs.first().and_then(|r| r.health.as_ref()) {
            None => "not assessed yet".to_string(),
            Some(health) if health.degraded => {
                let mut named: Vec<String> =
                    health.degraded_fields().map(|f| f.field.clone()).collect();
                if !health.empty_list_pages.is_empty() {
                    named.push("list items".to_string());
                }
                format!("degraded ({})", named.join(", "))
            }
            Some(_) => "ok".to_string(),
        };
        out.push_str(&format!(
            "health {}: {verdict}, last {} run(s), newest first\n",
            source.id,
            runs.len()
        ));
        out.push_str(&format!("  {:<25} {:>8}", "finished", "articles"));
        for field in HEALTH_FIELDS {
            out.push_str(&format!(" {field:>9}"));
        }
        out.push_str("  list items\n");
        for run in &runs {
            out.push_str(&row(run));
        }
        if let Some(health) = runs.first().and_then(|r| r.health.as_ref()) {
            for line in degraded_lines(source.id.as_str(), health) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

fn row(run: &RunReport) -> String {
    let finished = run
        .finished
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default();
    let mut line = format!("  {finished:<25} {:>8}", run.articles_read);
    for field in HEALTH_FIELDS {
        let degraded = run
            .health
            .as_ref()
            .and_then(|h| h.fields.iter().find(|f| f.field == field))
            .is_some_and(|f| f.degraded && f.fill.is_some());
        let mark = if degraded { "!" } else { "" };
        line.push_str(&format!(
            " {:>9}",
            format!("{}{mark}", percent(run.fill(field)))
        ));
    }
    let items: Vec<String> = run.list_items.iter().map(|p| p.items.to_string()).collect();
    line.push_str(&format!("  {}\n", items.join(",")));
    line
}
