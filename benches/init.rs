//! `cargo bench --bench init`: `gazette init` on replays of the recorded portal and the four
//! templates of `fixtures/templates`, scored field by field against their `expected.json`.
//! Prints one table per portal (right/checked per field) and the totals; `INIT_VERBOSE=1`
//! also prints each written config, its proof and the wrong fields.

use std::time::Instant;

use gazette::config::CrawlerConfig;
use gazette::fetch::Fetcher;
use gazette::init::InitOptions;
use gazette::replay::{Recording, ReplayServer};
use url::Url;

/// Directory under `fixtures/`, recorded origin, list page: the recorded portal, then each
/// template of `fixtures/templates` (its `family.json`), or those named in `FAMILIES`
/// (comma-separated directory names).
fn portals(root: &std::path::Path) -> Vec<(String, String, String)> {
    let only: Option<Vec<String>> = std::env::var("FAMILIES")
        .ok()
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
    let mut out = Vec::new();
    if only.is_none() {
        out.push((
            "portal".to_string(),
            "https://bqlkkt.kiengiang.gov.vn/".to_string(),
            "/Pages/tin-ban-quan-ly.aspx".to_string(),
        ));
    }
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("templates"))
        .expect("fixtures/templates")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("family.json").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| !o.contains(&name)) {
            continue;
        }
        let family: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("family.json")).unwrap())
                .expect("family.json is JSON");
        out.push((
            format!("templates/{name}"),
            family["origin"].as_str().expect("origin").to_string(),
            family["list"].as_str().expect("list").to_string(),
        ));
    }
    out
}

/// One portal's line of the table: its name, fields right and checked, and per field.
type Row = (String, usize, usize, Vec<(String, usize, usize)>);

fn main() {
    let verbose = std::env::var_os("INIT_VERBOSE").is_some();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (mut right, mut all) = (0, 0);
    let mut table: Vec<Row> = Vec::new();
    for (dir, origin, list) in portals(&root) {
        let dir = dir.as_str();
        let dir_path = root.join(dir);
        let origin = Url::parse(&origin).expect("a constant URL");
        let started = Instant::now();
        let result = runtime.block_on(async {
            let recording = Recording::load(&dir_path).expect("the recording loads");
            let replay = ReplayServer::start(recording)
                .await
                .expect("the replay starts");
            let settings = CrawlerConfig {
                min_delay_ms: 0,
                ..CrawlerConfig::default()
            };
            let fetcher = Fetcher::new(&settings)
                .expect("a fetcher")
                .reaching_origin_at(&origin, &replay.base_url());
            let options = InitOptions {
                list_url: origin.join(&list).expect("a list URL"),
                id: None,
                name: None,
            };
            let inferred = gazette::init::infer(&options, &fetcher).await;
            replay.shutdown();
            let inferred = inferred.map_err(|e| gazette::describe(&e))?;
            let accuracy =
                gazette::init::accuracy::score(&inferred.config.sources[0], &dir_path, &origin)
                    .unwrap_or_else(|e| panic!("{dir}: {}", gazette::describe(&e)));
            Ok::<_, String>((inferred, accuracy))
        });
        // A portal `init` fails on scores nothing: every field it should have read is wrong.
        let (inferred, accuracy) = match result {
            Ok(done) => done,
            Err(why) => {
                let expected: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(dir_path.join("expected.json")).expect("expected.json"),
                )
                .expect("expected.json is JSON");
                let fields: usize = expected
                    .as_object()
                    .map(|o| {
                        o.values()
                            .map(|v| if v["list"] == true { 2 } else { 9 })
                            .sum()
                    })
                    .unwrap_or(0);
                println!("\n{dir}: init failed: {why}");
                all += fields;
                table.push((
                    dir.trim_start_matches("templates/").to_string(),
                    0,
                    fields,
                    Vec::new(),
                ));
                continue;
            }
        };
        let took = started.elapsed();
        println!(
            "\n{dir}: {}/{} fields right ({:.0}%), init + scoring in {:.2?}",
            accuracy.right(),
            accuracy.checks.len(),
            accuracy.share() * 100.0,
            took
        );
        println!("  {:<18} right/checked", "field");
        for (field, r, n) in accuracy.by_field() {
            println!("  {field:<18} {r}/{n}");
        }
        if !inferred.unsure.is_empty() {
            println!("  unsure:");
            for note in &inferred.unsure {
                println!("    {note}");
            }
        }
        if verbose {
            println!(
                "{}\n{}\n{}",
                inferred.config_text,
                inferred.proof_table(),
                accuracy.wrong()
            );
        }
        right += accuracy.right();
        all += accuracy.checks.len();
        table.push((
            dir.trim_start_matches("templates/").to_string(),
            accuracy.right(),
            accuracy.checks.len(),
            accuracy.by_field(),
        ));
    }
    // The table per family and field, as BENCHMARKS.md shows it.
    let mut columns: Vec<String> = Vec::new();
    for (_, _, _, fields) in &table {
        for (field, _, _) in fields {
            if !columns.contains(field) {
                columns.push(field.clone());
            }
        }
    }
    println!("\n| portal | fields right | {} |", columns.join(" | "));
    println!("| --- | --- |{}", " --- |".repeat(columns.len()));
    for (dir, r, n, fields) in &table {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                fields
                    .iter()
                    .find(|(f, _, _)| f == c)
                    .map_or("–".to_string(), |(_, r, n)| format!("{r}/{n}"))
            })
            .collect();
        println!(
            "| {dir} | {r}/{n} ({:.0}%) | {} |",
            *r as f64 * 100.0 / (*n).max(1) as f64,
            cells.join(" | ")
        );
    }
    println!(
        "\nall portals: {right}/{all} fields right ({:.1}%)",
        right as f64 * 100.0 / all.max(1) as f64
    );
}
