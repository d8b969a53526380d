//! `gazette reparse`: stored captures read again with a changed profile. A dry run counts and
//! shows the changes and writes nothing; applying it adds one revision per changed article,
//! caused by reparse, without moving a feed's `updated` for a change of category; a second
//! reparse finds nothing.

use gazette::archive::prelude::*;
use std::sync::Arc;

use axum::http::StatusCode;
use gazette::archive::Archive;
use gazette::model::{ArticleId, RevisionCause};

use crate::server::get;
use crate::support::{self, FAST_CRAWL, TestPortal, explain};

/// The Atom `<updated>` of every entry of the source's feed, in feed order.
async fn atom_updated(portal: &TestPortal, archive: Arc<dyn Archive>) -> Vec<String> {
    let state = gazette::server::AppState::new(
        Arc::new(portal.config.clone()),
        archive,
        gazette::schedule::Status::default(),
    );
    let atom = get(&gazette::server::app(state), "/feeds/bqlkkt.atom").await;
    atom.expect_status(StatusCode::OK, format_args!("atom"));
    let feed = feed_rs::parser::parse(atom.body.as_slice()).expect("the Atom feed parses");
    feed.entries
        .iter()
        .map(|e| format!("{} {:?}", e.id, e.updated))
        .collect()
}

async fn run(args: &[&str]) -> String {
    let out = support::gazette_async(args).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(args, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_changed_category_selector_is_shown_then_applied_once_as_reparse_revisions() {
    let portal = TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 9, "{report:#?}");
    let archive: Arc<dyn Archive> = archive;
    let id = ArticleId("bqlkkt:1240".into());
    let before = archive.article(&id).unwrap().expect("article 1240");
    let updated_before = atom_updated(&portal, archive.clone()).await;
    drop(archive);

    // The category now read from the title: every article's category changes.
    let mut edited = support::portal_config(
        &portal.server.base_url(),
        &portal.dir.path().join("archive"),
        FAST_CRAWL,
    );
    edited.source("bqlkkt", &["article", "category"], "h1.News_Detail_Title");
    let config = portal.dir.path().join("reparse.toml");
    std::fs::write(&config, edited.to_toml()).unwrap();
    let config = config.to_str().unwrap();

    let dry = run(&["reparse", "--config", config, "--dry-run"]).await;
    assert!(
        dry.contains("dry run: 9 article(s) read again, 9 would change (nothing written)"),
        "{dry}"
    );
    assert!(dry.contains("category: 9 article(s)"), "{dry}");
    assert!(!dry.contains("title:") && !dry.contains("body:"), "{dry}");
    let example = format!(
        "  bqlkkt:1240: {:?} -> {:?}",
        before.article.category.clone().unwrap_or_default(),
        before.article.title
    );
    assert!(dry.contains(&example), "wanted {example:?} in:\n{dry}");
    assert_eq!(
        dry.lines().filter(|l| l.starts_with("  bqlkkt:")).count(),
        gazette::crawl::reparse::EXAMPLES_PER_FIELD,
        "{dry}"
    );
    let unchanged = portal.open_archive();
    assert_eq!(unchanged.article(&id).unwrap().unwrap().revisions, 1);
    drop(unchanged);

    let applied = run(&["reparse", "--config", config]).await;
    assert!(
        applied.contains("9 article(s) read again, 9 changed: 9 new revision(s) caused by reparse"),
        "{applied}"
    );
    let archive: Arc<dyn Archive> = portal.open_archive();
    let after = archive.article(&id).unwrap().unwrap();
    assert_eq!(after.revisions, 2);
    assert_eq!(
        after.article.category.as_deref(),
        Some(before.article.title.as_str())
    );
    assert_eq!(after.article.title, before.article.title);
    // Only the category changed: the article is not shown as updated.
    assert_eq!(after.updated, before.updated);
    let revisions = archive.revisions(&id).unwrap();
    let causes: Vec<RevisionCause> = revisions.iter().map(|r| r.cause).collect();
    assert_eq!(causes, [RevisionCause::Portal, RevisionCause::Reparse]);
    assert_eq!(revisions[1].fetched_at, revisions[0].fetched_at);
    // The reparse revision names the capture it was read from.
    let capture = archive
        .capture(&id, 2)
        .unwrap()
        .expect("revision 2 has a capture");
    assert_eq!(Some(capture), archive.capture(&id, 1).unwrap());
    assert_eq!(atom_updated(&portal, archive.clone()).await, updated_before);
    let state = gazette::server::AppState::new(
        Arc::new(portal.config.clone()),
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let answer = get(&gazette::server::app(state), "/api/articles/bqlkkt:1240").await;
    answer.expect_status(StatusCode::OK, format_args!("article"));
    let answer: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer["revisions"][1]["cause"], "reparse", "{answer:#}");
    assert_eq!(answer["revisions"][0]["cause"], "portal", "{answer:#}");
    drop(archive);

    let shown = run(&["show", "--config", config, "bqlkkt:1240", "--revisions"]).await;
    assert!(shown.contains("\"cause\": \"reparse\""), "{shown}");
    let exported = run(&["export", "--config", config]).await;
    let line = exported
        .lines()
        .find(|l| l.contains("\"bqlkkt:1240\""))
        .expect("article 1240 exported");
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["revisions"][1]["cause"], "reparse", "{entry:#}");
    assert!(entry["revisions"][0].get("cause").is_none(), "{entry:#}");

    // The WARC files alone say the same: verified, and rebuilt into the same index.
    run(&["verify", "--config", config]).await;
    run(&["rebuild", "--config", config]).await;
    let rebuilt = portal.open_archive();
    let revisions = rebuilt.revisions(&id).unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[1].cause, RevisionCause::Reparse);
    assert_eq!(
        rebuilt.article(&id).unwrap().unwrap().updated,
        before.updated
    );
    assert!(rebuilt.capture(&id, 2).unwrap().is_some());
    drop(rebuilt);

    let again = run(&["reparse", "--config", config]).await;
    assert!(
        again.contains("9 article(s) read again, 0 changed: 0 new revision(s)"),
        "{again}"
    );
    let archive = portal.open_archive();
    assert_eq!(archive.article(&id).unwrap().unwrap().revisions, 2);
    drop(archive);

    // A new title is a change readers see: the article is updated, in the feeds too.
    edited.source(
        "bqlkkt",
        &["article", "title"],
        "ul.UL_Link_Menu li:last-child",
    );
    let retitled = portal.dir.path().join("retitled.toml");
    std::fs::write(&retitled, edited.to_toml()).unwrap();
    let out = run(&["reparse", "--config", retitled.to_str().unwrap()]).await;
    assert!(out.contains("title: 9 article(s)"), "{out}");
    let archive: Arc<dyn Archive> = portal.open_archive();
    let after = archive.article(&id).unwrap().unwrap();
    assert_eq!(after.revisions, 3);
    assert!(after.updated > before.updated, "{after:#?}");
    assert_ne!(atom_updated(&portal, archive).await, updated_before);
}
