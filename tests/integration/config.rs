//! The config contract: the shipped file parses, and every mistake is reported with file, line
//! and key.

use gazette::config;

use crate::support;

const VALID: &str = r##"
[[sources]]
id = "demo"
name = "Demo portal"
base_url = "https://portal.example/"
timezone = "Asia/Ho_Chi_Minh"
language = "vi"

  [[sources.sections]]
  id = "news"
  name = "News"
  list_url = "/news.aspx"

  [sources.list]
  item = "div.item"
  link = "h3 a"

  [sources.article]
  title = "h1"
  body = "#body"
"##;

fn error_of(text: &str) -> String {
    match config::parse(text, "test.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn shipped_config_parses_with_every_documented_key() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        config.server.public_url().as_str(),
        "http://127.0.0.1:8080/"
    );
    assert_eq!(config.storage.path.to_str(), Some("data/archive"));
    assert_eq!(config.crawler.min_delay_ms, 1000);
    assert_eq!(config.crawler.max_concurrency_per_host, 2);
    assert_eq!(config.crawler.max_page_bytes, 10_485_760);
    assert_eq!(source.name, "Ban Quản lý Khu kinh tế tỉnh Kiên Giang");
    assert_eq!(source.tz(), chrono_tz::Asia::Ho_Chi_Minh);
    assert_eq!(source.schedule.as_str(), "0 */30 * * * *");
    assert_eq!(source.hosts(), ["bqlkkt.kiengiang.gov.vn"]);
    assert_eq!(
        source.canonical_query.as_deref(),
        Some(&["ItemID".to_string()][..])
    );
    assert_eq!(source.id_param.as_deref(), Some("ItemID"));
    assert_eq!(
        source.list_url(&source.sections[0]).as_str(),
        "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx"
    );
    assert_eq!(source.article.remove.len(), 3);
    assert_eq!(source.list.max_pages, 1000);
}

#[test]
fn minimal_config_takes_the_documented_defaults() {
    let config = config::parse(VALID, "test.toml").unwrap();
    assert_eq!(config.server.listen.to_string(), config::DEFAULT_LISTEN);
    assert_eq!(
        config.storage.path.to_str(),
        Some(config::DEFAULT_STORAGE_PATH)
    );
    assert_eq!(config.crawler.retries, config::DEFAULT_RETRIES);
    assert!(config.crawler.respect_robots_txt);
    let source = &config.sources[0];
    assert_eq!(source.schedule.as_str(), config::DEFAULT_SCHEDULE);
    assert_eq!(source.hosts(), ["portal.example"]);
    assert_eq!(source.list.max_pages, config::DEFAULT_MAX_PAGES);
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = VALID.replace("language = \"vi\"", "language = \"vi\"\nlanguag = \"vi\"");
    let err = error_of(&text);
    assert!(err.starts_with("test.toml:8: "), "{err}");
    assert!(err.contains("unknown field `languag`"), "{err}");
}

#[test]
fn five_field_schedule_shows_the_six_field_form() {
    let text = VALID.replace(
        "language = \"vi\"",
        "language = \"vi\"\nschedule = \"*/30 * * * *\"",
    );
    let err = error_of(&text);
    assert!(
        err.starts_with("test.toml:8: sources[0].schedule: expected 6 fields"),
        "{err}"
    );
    assert!(err.contains("\"0 */30 * * * *\""), "{err}");
    assert!(err.contains("1 = Sunday"), "{err}");
}

#[test]
fn bad_values_are_refused_where_they_stand() {
    let cases = [
        (
            "timezone = \"Asia/Ho_Chi_Minh\"",
            "timezone = \"UTC+7\"",
            "test.toml:6: sources[0].timezone: expected an IANA time zone",
        ),
        (
            "id = \"demo\"",
            "id = \"Demo Portal\"",
            "test.toml:3: sources[0].id: expected an id of lowercase",
        ),
        (
            "title = \"h1\"",
            "title = \"h1[\"",
            "test.toml:19: sources[0].article.title: invalid CSS selector",
        ),
        (
            "base_url = \"https://portal.example/\"",
            "base_url = \"portal.example\"",
            "test.toml:5: sources[0].base_url: expected an absolute http(s) URL",
        ),
        (
            "body = \"#body\"",
            "body = \"#body\"\ndate_formats = [\"%Q\"]",
            "test.toml:21: sources[0].article.date_formats[0]: invalid chrono date format",
        ),
    ];
    for (from, to, want) in cases {
        let err = error_of(&VALID.replace(from, to));
        assert!(
            err.starts_with(want),
            "for {to:?}:\n  want: {want}\n  got:  {err}"
        );
    }
}

#[test]
fn checks_across_keys_point_at_the_key() {
    let twice = VALID.replace("  [sources.list]", "  [[sources.sections]]\n  id = \"news\"\n  name = \"Again\"\n  list_url = \"/a\"\n\n  [sources.list]");
    let err = error_of(&twice);
    assert!(
        err.starts_with(
            "test.toml:15: sources[0].sections[1].id: section id \"news\" is used twice"
        ),
        "{err}"
    );

    let hosts = VALID.replace(
        "language = \"vi\"",
        "language = \"vi\"\nallowed_hosts = [\"other.example\"]",
    );
    let err = error_of(&hosts);
    assert!(
        err.starts_with("test.toml:8: sources[0].allowed_hosts: must include"),
        "{err}"
    );

    let missing = VALID.replace("timezone = \"Asia/Ho_Chi_Minh\"\n", "");
    let err = error_of(&missing);
    assert!(
        err.contains("sources[0]") && err.contains("missing field `timezone`"),
        "{err}"
    );

    let err = error_of("[server]\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!(
        err,
        "test.toml: sources: expected at least one [[sources]] table"
    );
}

#[test]
fn toml_syntax_errors_give_the_line() {
    let err = error_of(&VALID.replace("name = \"News\"", "name = \"News"));
    assert!(err.starts_with("test.toml:11: "), "{err}");
}
