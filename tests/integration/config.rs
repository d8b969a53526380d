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
    assert_eq!(source.hosts().to_string(), "bqlkkt.kiengiang.gov.vn");
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
    assert_eq!(source.hosts().to_string(), "portal.example");
    assert_eq!(
        config.server.feed_cache_bytes,
        config::DEFAULT_FEED_CACHE_BYTES
    );
    assert_eq!(source.list.max_pages, config::DEFAULT_MAX_PAGES);
}

#[test]
fn a_config_that_says_nothing_of_capture_captures_images_within_a_budget() {
    let config = config::parse(VALID, "test.toml").unwrap();
    assert_eq!(
        config.crawler.capture,
        [
            config::CaptureKind::Attachments,
            config::CaptureKind::Images
        ]
    );
    assert_eq!(config.crawler.max_assets_per_run, 500);
    assert_eq!(
        config.crawler.max_assets_per_run,
        config::DEFAULT_MAX_ASSETS_PER_RUN
    );
    // The shipped file says the same as the defaults.
    let shipped = support::shipped_config();
    assert_eq!(shipped.crawler.capture, config.crawler.capture);
    assert_eq!(
        shipped.crawler.max_assets_per_run,
        config.crawler.max_assets_per_run
    );
}

/// A config written for schema 1 (with `storage.flush_every_ms`, as the shipped file had it)
/// still loads: the key is read and no longer used.
#[test]
fn a_config_of_the_first_archive_schema_still_loads() {
    let text = format!("[storage]\nflush_every_ms = 1000\n{VALID}");
    let config = config::parse(&text, "test.toml").unwrap();
    assert_eq!(config.storage.flush_every_ms, Some(1000));
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
    assert_eq!(
        err,
        "test.toml:5: sources[0].base_url: host \"portal.example\" is not in allowed_hosts \
         [other.example]"
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
        "test.toml:1: sources: expected at least one [[sources]] table"
    );

    // An empty path would put the archive into the working directory, whatever is there.
    for empty in ["", "   "] {
        let err = error_of(&format!("[storage]\npath = \"{empty}\"\n\n{VALID}"));
        assert_eq!(
            err,
            "test.toml:2: storage.path: expected the archive's directory, not an empty path"
        );
    }
}

#[test]
fn toml_syntax_errors_give_the_line() {
    let err = error_of(&VALID.replace("name = \"News\"", "name = \"News"));
    assert!(err.starts_with("test.toml:11: "), "{err}");
}

/// The VALID config with `line` added after `language = "vi"` (line 7, so `line` is line 8).
fn with_source_line(line: &str) -> String {
    VALID.replace("language = \"vi\"", &format!("language = \"vi\"\n{line}"))
}

/// Every error is one line that starts `file:line:`.
fn assert_one_line(err: &str) {
    assert_eq!(err.lines().count(), 1, "more than one line: {err}");
}

#[test]
fn errors_of_the_whole_file_are_one_line_on_line_1() {
    let cases = [
        (
            "",
            "test.toml:1: the file is empty: expected at least one [[sources]] table",
        ),
        (
            "\n  \n",
            "test.toml:1: the file is empty: expected at least one [[sources]] table",
        ),
        (
            "# only a comment\n[crawler]\nretries = 1\n",
            "test.toml:1: sources: expected at least one [[sources]] table",
        ),
    ];
    for (text, want) in cases {
        let err = error_of(text);
        assert_eq!(err, want, "for {text:?}");
        assert_one_line(&err);
    }
}

#[test]
fn invalid_utf8_names_the_line_of_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gazette.toml");
    let mut bytes = VALID.as_bytes().to_vec();
    let at = VALID.find("Demo portal").unwrap() + 5;
    bytes[at] = 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = config::load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:4: not UTF-8 text: byte 0xff cannot start a character",
            path.display()
        )
    );
    assert_one_line(&err);
}

#[test]
fn duplicate_unknown_and_mistyped_keys_are_one_line_each() {
    let cases = [
        (
            with_source_line("name = \"Again\""),
            "test.toml:8: sources[0].name: duplicate key",
        ),
        (
            VALID.replace("title = \"h1\"", "title = \"h1\"\ntitle = \"h2\""),
            "test.toml:20: sources[0].article.title: duplicate key",
        ),
        (
            format!("{VALID}\n[[sources]]\nid = \"b\"\nid = \"c\"\n"),
            "test.toml:24: sources[1].id: duplicate key",
        ),
        (
            format!("[crawler]\nretries = 1\nretries = 2\n{VALID}"),
            "test.toml:3: crawler.retries: duplicate key",
        ),
        (
            with_source_line("colour = 3"),
            "test.toml:8: sources[0].colour: unknown field `colour`, expected one of `id`, `name`, \
             `base_url`, `timezone`, `language`, `schedule`, `allowed_hosts`, `canonical_query`, \
             `id_param`, `id_pattern`, `sections`, `list`, `article`",
        ),
        (
            VALID.replace("language = \"vi\"", "language = 7"),
            "test.toml:7: sources[0].language: invalid type: integer `7`, expected a string",
        ),
        (
            format!("[crawler]\nretries = \"three\"\n{VALID}"),
            "test.toml:2: crawler.retries: invalid type: string \"three\", expected u32",
        ),
    ];
    for (text, want) in cases {
        let err = error_of(&text);
        assert_eq!(err, want);
        assert_one_line(&err);
    }
}

#[test]
fn cron_errors_give_the_field_and_its_real_bounds() {
    let cases = [
        (
            "60 * * * * *",
            "seconds field \"60\" is out of bounds: expected 0-59",
        ),
        (
            "0 60 * * * *",
            "minutes field \"60\" is out of bounds: expected 0-59",
        ),
        (
            "0 0 24 * * *",
            "hours field \"24\" is out of bounds: expected 0-23",
        ),
        (
            "0 0 0 0 * *",
            "day of month field \"0\" is out of bounds: expected 1-31",
        ),
        (
            "0 0 0 32 * *",
            "day of month field \"32\" is out of bounds: expected 1-31",
        ),
        (
            "0 0 0 * 13 *",
            "month field \"13\" is out of bounds: expected 1-12 or Jan-Dec",
        ),
        (
            "0 0 0 * * 0",
            "day of week field \"0\" is out of bounds: expected 1-7 (1 = Sunday) or Sun-Sat",
        ),
        (
            "0 0 0 * * Funday",
            "day of week field \"Funday\" is out of bounds: expected 1-7 (1 = Sunday) or Sun-Sat",
        ),
        (
            "0 0 0 * * * 1969",
            "year field \"1969\" is out of bounds: expected 1970-2100",
        ),
    ];
    for (cron, want) in cases {
        let err = error_of(&with_source_line(&format!("schedule = \"{cron}\"")));
        assert_eq!(
            err,
            format!(
                "test.toml:8: sources[0].schedule: invalid cron expression \"{cron}\": the {want}"
            )
        );
        assert_one_line(&err);
    }
    // The bounds said above are the ones really accepted.
    for cron in [
        "59 59 23 31 12 7",
        "0 0 0 1 1 1",
        "0 0 0 * Jan-Dec Sun-Sat",
        "0 0 0 * * * 2100",
    ] {
        let text = with_source_line(&format!("schedule = \"{cron}\""));
        if let Err(err) = config::parse(&text, "test.toml") {
            panic!("{cron:?} refused: {err}");
        }
    }
}

#[test]
fn allowed_hosts_entries_are_host_or_host_and_port() {
    for bad in [
        "http://portal.example",
        "portal.example/news",
        "portal.example:",
        "portal.example:0",
        "portal.example:99999",
        "portal example",
        "",
    ] {
        let err = error_of(&with_source_line(&format!(
            "allowed_hosts = [\"portal.example\", {bad:?}]"
        )));
        assert_eq!(
            err,
            format!(
                "test.toml:8: sources[0].allowed_hosts[1]: expected a host or host:port such as \
                 \"portal.example\" or \"127.0.0.1:8080\", got {bad:?}"
            )
        );
    }
    let text = with_source_line(
        "allowed_hosts = [\"Portal.Example\", \"cdn.example:8443\", \"[::1]:81\"]",
    );
    let config = config::parse(&text, "test.toml").unwrap();
    let hosts = config.sources[0].hosts();
    assert_eq!(
        hosts.to_string(),
        "portal.example, cdn.example:8443, [::1]:81"
    );
    let allows = |url: &str| hosts.allows(&url::Url::parse(url).unwrap());
    assert!(allows("https://portal.example/a"));
    assert!(allows("http://portal.example/a"), "http's default port");
    assert!(
        !allows("https://portal.example:8443/a"),
        "a bare host: default port only"
    );
    assert!(allows("https://cdn.example:8443/x"));
    assert!(
        !allows("https://cdn.example/x"),
        "host:port: that port only"
    );
    assert!(allows("http://[::1]:81/"));
    assert!(!allows("https://other.example/"));
}

#[test]
fn a_bare_host_also_allows_the_port_of_base_url() {
    let text = VALID.replace("https://portal.example/", "http://127.0.0.1:8123/");
    let config = config::parse(&text, "test.toml").unwrap();
    let hosts = config.sources[0].hosts();
    let allows = |url: &str| hosts.allows(&url::Url::parse(url).unwrap());
    assert!(allows("http://127.0.0.1:8123/news.aspx"));
    assert!(allows("http://127.0.0.1/news.aspx"));
    assert!(!allows("http://127.0.0.1:8124/news.aspx"));
}

#[test]
fn list_and_base_urls_outside_allowed_hosts_are_refused_where_they_stand() {
    let err = error_of(&VALID.replace(
        "list_url = \"/news.aspx\"",
        "list_url = \"https://elsewhere.example/news.aspx\"",
    ));
    assert_eq!(
        err,
        "test.toml:12: sources[0].sections[0].list_url: host \"elsewhere.example\" is not in \
         allowed_hosts [portal.example]; every crawl of this section would be refused"
    );
    let err = error_of(&VALID.replace(
        "list_url = \"/news.aspx\"",
        "list_url = \"https://portal.example:8443/news.aspx\"",
    ));
    assert!(
        err.starts_with(
            "test.toml:12: sources[0].sections[0].list_url: host \"portal.example:8443\""
        ),
        "{err}"
    );
    let err = error_of(&with_source_line(
        "allowed_hosts = [\"portal.example:8443\"]",
    ));
    assert_eq!(
        err,
        "test.toml:5: sources[0].base_url: host \"portal.example\" is not in allowed_hosts \
         [portal.example:8443]"
    );
    // Allowed when the entry names it.
    let text = with_source_line("allowed_hosts = [\"portal.example\", \"elsewhere.example\"]")
        .replace(
            "list_url = \"/news.aspx\"",
            "list_url = \"https://elsewhere.example/news.aspx\"",
        );
    config::parse(&text, "test.toml").unwrap();
}

#[test]
fn feed_cache_bytes_must_be_positive() {
    let err = error_of(&format!("[server]\nfeed_cache_bytes = 0\n{VALID}"));
    assert_eq!(
        err,
        "test.toml:2: server.feed_cache_bytes: expected at least 1"
    );
    let config = config::parse(
        &format!("[server]\nfeed_cache_bytes = 4096\n{VALID}"),
        "test.toml",
    )
    .unwrap();
    assert_eq!(config.server.feed_cache_bytes, 4096);
}
