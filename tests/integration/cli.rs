//! The `gazette` binary as a user runs it: output, exit codes and readable errors.

use std::process::{Command, Output};

use crate::support;

const SEED_URL: &str =
    "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234&l=TinBanQuanLy";

fn gazette(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(support::root())
        .output()
        .expect("the gazette binary runs")
}

/// Fails with the command, its exit code and both streams, so a failure explains itself.
fn explain(args: &[&str], out: &Output) -> String {
    format!(
        "gazette {}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_readable_error(stderr: &str) {
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert!(
        !stderr.contains("{ ") && !stderr.contains("Error {"),
        "a Debug dump: {stderr}"
    );
    assert!(stderr.lines().count() <= 2, "more than two lines: {stderr}");
}

#[test]
fn extract_prints_the_seed_article() {
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/article-1234.html",
        "--url",
        SEED_URL,
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(article["id"], "bqlkkt:1234");
    assert_eq!(
        article["url"],
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234"
    );
    assert_eq!(article["published"], "2020-07-08T13:54:00+07:00");
    assert_eq!(article["published_inferred"], false);
    assert_eq!(article["section"], "tin-ban-quan-ly");
    assert_eq!(article["category"], "Tin Ban Quản lý");
    assert_eq!(article["images"].as_array().unwrap().len(), 3);
    for field in ["title", "summary", "body_html", "body_text", "content_hash"] {
        assert!(
            article[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} is empty"
        );
    }
}

#[test]
fn extract_list_prints_items_and_next_page() {
    let args = [
        "extract",
        "--list",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/list-tin-ban-quan-ly-p2.html",
        "--url",
        "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?Page=2",
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        list["next_page"],
        "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?Page=3"
    );
}

#[test]
fn content_type_flag_gives_the_http_charset() {
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/article-1180.html",
        "--url",
        SEED_URL,
        "--content-type",
        "text/html",
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        article["title"],
        "Ban Quản lý Khu kinh tế tổ chức hội nghị triển khai nhiệm vụ năm 2012"
    );
}

#[test]
fn a_page_from_elsewhere_fails_naming_the_selector() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("other.html");
    std::fs::write(&page, "<html><body><h2>Not found</h2></body></html>").unwrap();
    let page = page.to_str().unwrap();
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        page,
        "--url",
        SEED_URL,
    ];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`h1.News_Detail_Title`"), "{stderr}");
    assert_readable_error(&stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_config_exits_2_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::root().join("config/gazette.toml")).unwrap();
    let bad = text.replace(
        "schedule = \"0 */30 * * * *\"",
        "schedule = \"*/30 * * * *\"",
    );
    let line = bad
        .lines()
        .position(|l| l.starts_with("schedule ="))
        .unwrap()
        + 1;
    let path = dir.path().join("gazette.toml");
    std::fs::write(&path, bad).unwrap();
    let args = ["check", "--config", path.to_str().unwrap()];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "gazette.toml:{line}: sources[0].schedule: expected 6 fields"
        )),
        "{stderr}"
    );
    assert_readable_error(&stderr);
}

#[test]
fn usage_mistakes_exit_2_and_missing_files_exit_1() {
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "nope",
                "--file",
                "x",
                "--url",
                SEED_URL,
            ],
            2,
            "no source \"nope\"",
        ),
        (
            &["check", "--config", "no/such/file.toml"],
            2,
            "cannot read the config file",
        ),
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "bqlkkt",
                "--file",
                "no/such/page.html",
                "--url",
                SEED_URL,
            ],
            1,
            "cannot read no/such/page.html",
        ),
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "bqlkkt",
                "--file",
                "x",
                "--url",
                "not a url",
            ],
            2,
            "--url",
        ),
    ];
    for (args, code, message) in cases {
        let out = gazette(args);
        assert_eq!(out.status.code(), Some(code), "{}", explain(args, &out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{}", explain(args, &out));
        assert_readable_error(&stderr);
    }
}

#[test]
fn check_lists_sources_and_sections() {
    let args = ["check", "--config", "config/gazette.toml"];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("source bqlkkt (Ban Quản lý Khu kinh tế tỉnh Kiên Giang)"),
        "{stdout}"
    );
    assert!(stdout.contains("section tin-ban-quan-ly (Tin Ban Quản lý): https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx"), "{stdout}");
}
