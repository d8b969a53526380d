//! Selector health: a portal whose article template changes (the body selector finds nothing)
//! marks the source degraded within one run, in the run report, the metrics, /healthz,
//! /api/sources, `gazette crawl` and `gazette check --health`.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use gazette::archive::Archive;
use gazette::replay::Recording;

use crate::server::get;
use crate::support::{self, FAST_CRAWL, TestPortal, explain, fixture};

/// A source id of its own: the metrics are the process's, and other tests crawl `bqlkkt`.
const SOURCE: &str = "health-probe";

/// Articles of the recording, by `ItemID`.
const ITEMS: [u32; 9] = [1240, 1238, 1236, 1234, 1229, 1225, 1211, 1190, 1180];

/// The recorded portal under [`SOURCE`], rechecking every archived article on each run.
async fn portal() -> TestPortal {
    let mut crawler: Vec<(&str, &str)> = FAST_CRAWL
        .iter()
        .copied()
        .filter(|(key, _)| *key != "recheck_days")
        .collect();
    crawler.push(("recheck_days", "36500"));
    let recording = Recording::load(&fixture("portal")).expect("the recording loads");
    TestPortal::start_edited(recording, &crawler, |config| {
        config.source("bqlkkt", &["id"], SOURCE);
    })
    .await
}

/// Every article page of the replay with its body block renamed: the body selector
/// `#divArticleDescription2` no longer matches.
fn break_body(portal: &TestPortal) {
    for item in ITEMS {
        let page = std::fs::read(fixture(&format!("portal/article-{item}.html"))).unwrap();
        let text = String::from_utf8_lossy(&page)
            .replace("id=\"divArticleDescription2\"", "id=\"divArticleContent\"");
        assert_ne!(
            text.as_bytes(),
            page.as_slice(),
            "article-{item} has the body id"
        );
        for path in [
            format!("/Pages/chi-tiet-tin.aspx?ItemID={item}"),
            format!("/Pages/chi-tiet-tin.aspx?ItemID={item}&l=TinBanQuanLy"),
        ] {
            portal
                .server
                .set_page(&path, text.clone().into_bytes(), "text/html; charset=utf-8");
        }
    }
}

/// The value of one sample line of the metrics text.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn a_body_selector_that_stops_matching_marks_the_source_degraded_within_one_run() {
    let portal = portal().await;
    let archive = portal.open_archive();
    let first = portal.crawl(&archive, false).await;
    assert_eq!(first.new, 9, "{first:#?}");
    let health = first.health.clone().expect("the run judged the selectors");
    assert!(!health.degraded, "{health:#?}");
    assert_eq!(health.runs_compared, 0);
    assert_eq!(first.articles_read, 9);
    assert_eq!(first.fill("body"), Some(1.0));
    assert_eq!(first.fill("title"), Some(1.0));
    assert_eq!(
        first.list_items.iter().map(|p| p.items).sum::<u64>(),
        9,
        "{:?}",
        first.list_items
    );

    break_body(&portal);
    let second = portal.crawl(&archive, false).await;
    assert_eq!(second.articles_read, 9, "{second:#?}");
    assert_eq!(second.failed, 9, "{:?}", second.errors);
    let health = second.health.clone().expect("the run judged the selectors");
    assert!(health.degraded, "{health:#?}");
    assert_eq!(health.runs_compared, 1);
    let degraded: Vec<&str> = health.degraded_fields().map(|f| f.field.as_str()).collect();
    // Images are read from the body: they went with it.
    assert_eq!(degraded, ["body", "images"], "{health:#?}");
    let body = health.fields.iter().find(|f| f.field == "body").unwrap();
    assert_eq!(body.selector.as_deref(), Some("#divArticleDescription2"));
    assert_eq!((body.fill, body.median), (Some(0.0), Some(1.0)));
    let title = health.fields.iter().find(|f| f.field == "title").unwrap();
    assert_eq!((title.fill, title.degraded), (Some(1.0), false));

    let metrics = gazette::metrics::METRICS.render();
    let series = |name: &str, field: Option<&str>| match field {
        Some(field) => format!("gazette_{name}{{source=\"{SOURCE}\",field=\"{field}\"}}"),
        None => format!("gazette_{name}{{source=\"{SOURCE}\"}}"),
    };
    assert_eq!(
        sample(&metrics, &series("source_degraded", None)),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, &series("field_fill_ratio", Some("body"))),
        Some(0.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, &series("field_fill_ratio", Some("title"))),
        Some(1.0),
        "{metrics}"
    );

    // The server, as `serve` starts it: each source's last recorded run.
    let archive: Arc<dyn Archive> = archive;
    let config = Arc::new(portal.config.clone());
    let scheduler = gazette::schedule::Scheduler::new(
        config.clone(),
        archive.clone(),
        Duration::ZERO,
        Duration::ZERO,
    );
    let state = gazette::server::AppState::new(config, archive.clone(), scheduler.status());
    let app = gazette::server::app(state);
    let healthz = get(&app, "/healthz").await;
    // Liveness: a degraded source is said, not a reason to restart the process.
    healthz.expect_status(StatusCode::OK, format_args!("/healthz"));
    let body: serde_json::Value = serde_json::from_slice(&healthz.body).unwrap();
    assert_eq!(body["status"], "degraded", "{body:#}");
    assert_eq!(body["degraded"], serde_json::json!([SOURCE]), "{body:#}");
    let source_health = &body["sources"][SOURCE]["health"];
    assert_eq!(
        source_health["degraded_fields"],
        serde_json::json!(["body", "images"]),
        "{body:#}"
    );

    let sources = get(&app, "/api/sources").await;
    sources.expect_status(StatusCode::OK, format_args!("/api/sources"));
    let sources: serde_json::Value = serde_json::from_slice(&sources.body).unwrap();
    let health = &sources["sources"][0]["health"];
    assert_eq!(health["assessed"], true, "{sources:#}");
    assert_eq!(health["degraded"], true, "{sources:#}");
    assert_eq!(health["articles_read"], 9, "{sources:#}");
    let body_field = health["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "body")
        .unwrap();
    assert_eq!(body_field["fill"], 0.0, "{sources:#}");
    assert_eq!(body_field["median"], 1.0, "{sources:#}");
    assert_eq!(body_field["selector"], "#divArticleDescription2");

    // The reader's front page warns a person too, naming the field and its selector.
    let index = get(&app, "/").await;
    index.expect_status(StatusCode::OK, format_args!("/"));
    let page = String::from_utf8_lossy(&index.body);
    assert!(
        page.contains("Bộ chọn không còn khớp") && page.contains("body (#divArticleDescription2)"),
        "{page}"
    );
    drop((app, scheduler, archive));

    // The command line: a third run says it, and `check --health` shows the table.
    let config_path = portal.config_path.to_str().unwrap().to_string();
    let args = ["crawl", "--config", config_path.as_str()];
    let out = support::gazette_async(&args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{SOURCE}: degraded: body filled in 0% of the articles read"
        )) && stdout.contains("selector #divArticleDescription2"),
        "{}",
        explain(&args, &out)
    );
    // The log names the field and its selector.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("field body fell below half its median fill")
            && stderr.contains("#divArticleDescription2"),
        "{}",
        explain(&args, &out)
    );
    let args = ["check", "--config", config_path.as_str(), "--health"];
    let out = support::gazette_async(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "health {SOURCE}: degraded (body, images), last 3 run(s)"
        )),
        "{}",
        explain(&args, &out)
    );
    // Newest first: the broken runs, then the good one, each with its body share.
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("finished"))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(
        rows[0].contains("0%!") && rows[2].contains("100%"),
        "{stdout}"
    );
}

#[test]
fn a_run_recorded_before_selector_health_is_read_with_none() {
    let old = r#"{"source":"bqlkkt","started":null,"finished":null,"backfill":false,
        "pages_fetched":3,"new":1,"revised":0,"unchanged":0,"gone":0,"failed":0,
        "complete":true,"errors":[]}"#;
    let run: gazette::model::RunReport = serde_json::from_str(old).unwrap();
    assert_eq!(run.articles_read, 0);
    assert_eq!(run.fill("body"), None);
    assert!(run.health.is_none() && run.list_items.is_empty());
}
