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

/// Directory under `fixtures/`, recorded origin, list page.
const PORTALS: &[(&str, &str, &str)] = &[
    (
        "portal",
        "https://bqlkkt.kiengiang.gov.vn/",
        "/Pages/tin-ban-quan-ly.aspx",
    ),
    (
        "templates/dnn",
        "https://sokhcn.tinh.example/",
        "/tin-hoat-dong/tabid/75/Default.aspx",
    ),
    (
        "templates/joomla",
        "https://stnmt.tinh.example/",
        "/index.php?option=com_content&view=category&layout=blog&id=12&Itemid=105",
    ),
    (
        "templates/wordpress",
        "https://stttt.tinh.example/",
        "/chuyen-muc/tin-tuc/",
    ),
    (
        "templates/table",
        "http://soyte.tinh.example/",
        "/tintuc.asp?cat=3",
    ),
    (
        "templates/drupal",
        "https://sonnptnt.tinh.example/",
        "/tin-tuc",
    ),
];

fn main() {
    let verbose = std::env::var_os("INIT_VERBOSE").is_some();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (mut right, mut all) = (0, 0);
    for (dir, origin, list) in PORTALS {
        let dir_path = root.join(dir);
        let origin = Url::parse(origin).expect("a constant URL");
        let started = Instant::now();
        let (inferred, accuracy) = runtime.block_on(async {
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
                list_url: origin.join(list).expect("a list URL"),
                id: None,
                name: None,
            };
            let inferred = gazette::init::infer(&options, &fetcher)
                .await
                .unwrap_or_else(|e| panic!("{dir}: {}", gazette::describe(&e)));
            let accuracy =
                gazette::init::accuracy::score(&inferred.config.sources[0], &dir_path, &origin)
                    .unwrap_or_else(|e| panic!("{dir}: {}", gazette::describe(&e)));
            replay.shutdown();
            (inferred, accuracy)
        });
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
    }
    println!(
        "\nall portals: {right}/{all} fields right ({:.1}%)",
        right as f64 * 100.0 / all.max(1) as f64
    );
}
