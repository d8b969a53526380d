//! Every saved page against its expected result: the recorded portal (`fixtures/portal`) and the
//! pages written for what the recording does not cover (`fixtures/pages`).

use serde_json::{Value, json};

use crate::support::{self, SavedPage, mismatches, recorded};

fn paragraphs(body_text: &str) -> Vec<&str> {
    body_text.split("\n\n").collect()
}

#[test]
fn recorded_articles_match_expected_json_field_by_field() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(support::fixture("portal/expected.json")).unwrap())
            .unwrap();
    let expected = expected.as_object().expect("expected.json is an object");
    assert_eq!(expected.len(), 9, "the recording has 9 articles");
    let list_items: Vec<_> = [
        "list-tin-ban-quan-ly-p1.html",
        "list-tin-ban-quan-ly-p2.html",
        "list-tin-ban-quan-ly-p3.html",
    ]
    .iter()
    .flat_map(|file| {
        gazette::read_list(&recorded(file).page(), source)
            .expect("list page")
            .items
    })
    .collect();
    let mut failures = Vec::new();
    for (file, want) in expected {
        let saved = recorded(file);
        let raw = gazette::extract::article(&saved.page(), source)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let article = gazette::normalize::article(&raw, source, "tin-ban-quan-ly", None);
        let paras = paragraphs(&article.body_text);
        let published = if want["published_only_on_list_page"] == json!(true) {
            assert_eq!(
                article.published, None,
                "{file}: the page itself has no time"
            );
            list_items
                .iter()
                .find(|i| i.url == article.url)
                .and_then(|i| i.published)
        } else {
            article.published
        };
        let actual = json!({
            "url": article.url,
            "title": article.title,
            "published": published.map(|p| p.to_rfc3339()),
            "published_only_on_list_page": want["published_only_on_list_page"],
            "category": article.category,
            "first_paragraph": paras.first(),
            "last_paragraph": paras.last(),
            "images": article.images,
            "attachments": article.attachments,
            "source_credit": article.credit,
            "charset": raw.charset,
        });
        failures.extend(mismatches(file, want, &actual));
        assert_eq!(
            article.id.0,
            format!("bqlkkt:{}", &file[8..12]),
            "{file}: id comes from ItemID"
        );
    }
    assert!(
        failures.is_empty(),
        "{} field(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn recorded_list_pages_give_every_article_once_in_page_order() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let p1 = gazette::read_list(&recorded("list-tin-ban-quan-ly-p1.html").page(), source).unwrap();
    let p2 = gazette::read_list(&recorded("list-tin-ban-quan-ly-p2.html").page(), source).unwrap();
    let p3 = gazette::read_list(&recorded("list-tin-ban-quan-ly-p3.html").page(), source).unwrap();
    let ids = |page: &gazette::model::ListPage| -> Vec<String> {
        page.items
            .iter()
            .map(|i| i.url.rsplit('=').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&p1), ["1240", "1238", "1236"]);
    assert_eq!(ids(&p2), ["1234", "1229", "1225"]);
    assert_eq!(ids(&p3), ["1211", "1190", "1180"]);
    let base = "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx";
    assert_eq!(
        p1.next_page.as_deref(),
        Some(format!("{base}?Page=2").as_str())
    );
    assert_eq!(
        p2.next_page.as_deref(),
        Some(format!("{base}?Page=3").as_str())
    );
    assert_eq!(p3.next_page, None);
    let first = &p1.items[0];
    assert_eq!(first.title, "Thông báo lịch tiếp công dân tháng 8 năm 2020");
    assert_eq!(
        first.published.unwrap().to_rfc3339(),
        "2020-07-28T14:00:00+07:00"
    );
    assert_eq!(
        first.summary.as_deref(),
        Some("Ban Quản lý Khu kinh tế tỉnh thông báo lịch tiếp công dân định kỳ tháng 8 năm 2020.")
    );
}

#[test]
fn seed_article_body_is_clean_html_with_captioned_figures() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let article = gazette::read_article(
        &recorded("article-1234.html").page(),
        source,
        "tin-ban-quan-ly",
    )
    .unwrap();
    let html = &article.body_html;
    assert!(
        html.starts_with("<p>Thực hiện Kế hoạch số 114/KH-UBND"),
        "indents and tags are cleaned: {html:.120}"
    );
    for banned in ["style=", "&nbsp;", "<p></p>", "<p> </p>", "\u{a0}"] {
        assert!(!html.contains(banned), "body_html contains {banned:?}");
    }
    assert_eq!(html.matches("<figure>").count(), 3);
    assert_eq!(html.matches("<figcaption>").count(), 2);
    assert!(html.contains(
        "<figure><img src=\"https://bqlkkt.kiengiang.gov.vn/PublishingImages/TinTuc/2020/07/hoi-nghi-dhtt-2020-2.jpg\" alt=\"\"><figcaption><em>Biểu dương, khen thưởng 03 tập thể"
    ));
    // Spacer paragraphs are gone: 8 text paragraphs and 2 captions.
    assert_eq!(article.body_text.split("\n\n").count(), 10);
    assert_eq!(
        article.summary,
        article.body_text.split("\n\n").next().unwrap()
    );
    assert_eq!(article.content_hash.len(), 64);
}

#[test]
fn scripts_handlers_and_tools_never_reach_the_article() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let article = gazette::read_article(
        &recorded("article-1211.html").page(),
        source,
        "tin-ban-quan-ly",
    )
    .unwrap();
    for banned in [
        "<script",
        "VideoPlayer",
        "onerror",
        "onclick",
        "javascript:",
        "Xem với cỡ chữ",
        "href=\"#\"",
    ] {
        assert!(
            !article.body_html.contains(banned),
            "body_html contains {banned:?}"
        );
        assert!(
            !article.body_text.contains(banned),
            "body_text contains {banned:?}"
        );
    }
    assert!(
        article
            .body_html
            .contains("<figcaption><em>Phương tiện làm thủ tục")
    );
}

#[test]
fn data_table_rows_are_lines_of_cells() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let article = gazette::read_article(
        &recorded("article-1236.html").page(),
        source,
        "tin-ban-quan-ly",
    )
    .unwrap();
    assert!(article.body_text.contains(
        "Khu kinh tế, khu công nghiệp | Số dự án mới | Vốn đăng ký (tỷ đồng)\nKhu kinh tế cửa khẩu Hà Tiên | 3 | 420\n"
    ));
    assert!(
        article
            .body_html
            .contains("<table><tbody><tr><td><strong>Khu kinh tế")
    );
    assert!(
        article
            .summary
            .starts_with("Trong 6 tháng đầu năm 2020, mặc dù"),
        "the sapo is the summary"
    );
}

#[test]
fn the_same_article_under_another_address_keeps_its_id_and_hash() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let listed = recorded("article-1229.html");
    let other = SavedPage::read(
        &support::fixture("portal/article-1229.html"),
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?l=Khac&ItemID=1229&Source=%2FPages%2Fx.aspx#top",
        Some("text/html; charset=utf-8"),
    );
    let a = gazette::read_article(&listed.page(), source, "tin-ban-quan-ly").unwrap();
    let b = gazette::read_article(&other.page(), source, "tin-ban-quan-ly").unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.url, b.url);
    assert_eq!(a.content_hash, b.content_hash);
}

/// The pages in `fixtures/pages`, each with its expectation beside it.
fn saved_pages() -> Vec<(String, Value)> {
    let dir = support::fixture("pages");
    let mut pages: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "json").then(|| {
                let name = path.file_stem().unwrap().to_string_lossy().to_string();
                let spec: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (name, spec)
            })
        })
        .collect();
    pages.sort_by(|a, b| a.0.cmp(&b.0));
    pages
}

#[test]
fn saved_pages_match_their_expectations() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let pages = saved_pages();
    assert!(
        pages.len() >= 10,
        "at least 10 saved pages, found {}",
        pages.len()
    );
    let mut failures = Vec::new();
    for (name, spec) in &pages {
        let saved = SavedPage::read(
            &support::fixture(&format!("pages/{name}.html")),
            spec["url"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}.json has no url")),
            spec["content_type"].as_str(),
        );
        let result = match spec["kind"].as_str() {
            Some("list") => {
                gazette::read_list(&saved.page(), source).map(|l| serde_json::to_value(l).unwrap())
            }
            _ => gazette::read_article(&saved.page(), source, "tin-ban-quan-ly")
                .map(|a| serde_json::to_value(a).unwrap()),
        };
        // Pages past the parser's limits say so: `flattened` is checked on the raw extraction.
        if let Some(want) = spec.get("flattened").and_then(Value::as_bool) {
            match gazette::extract::article(&saved.page(), source) {
                Ok(raw) if raw.flattened != want => failures.push(format!(
                    "{name}: field `flattened`\n    expected: {want}\n    got:      {}",
                    raw.flattened
                )),
                Ok(_) => {}
                Err(err) => failures.push(format!("{name}: unexpected error: {err}")),
            }
        }
        match (result, spec.get("error").and_then(Value::as_str)) {
            (Ok(actual), None) => failures.extend(mismatches(name, &spec["expect"], &actual)),
            (Ok(_), Some(error)) => failures.push(format!(
                "{name}: expected an error naming {error:?}, got an article"
            )),
            (Err(err), Some(error)) if err.to_string().contains(error) => {}
            (Err(err), _) => failures.push(format!("{name}: unexpected error: {err}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} field(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_text_field_of_any_page_is_unclean() {
    use unicode_normalization::is_nfc;
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let mut pages: Vec<SavedPage> = support::manifest()
        .iter()
        .filter(|r| r.file.starts_with("article-"))
        .map(|r| recorded(&r.file))
        .collect();
    for (name, spec) in saved_pages()
        .into_iter()
        .filter(|(_, s)| s["kind"] != "list")
    {
        pages.push(SavedPage::read(
            &support::fixture(&format!("pages/{name}.html")),
            spec["url"].as_str().unwrap(),
            spec["content_type"].as_str(),
        ));
    }
    for saved in &pages {
        let Ok(article) = gazette::read_article(&saved.page(), source, "tin-ban-quan-ly") else {
            continue;
        };
        let value = serde_json::to_value(&article).unwrap();
        let mut texts = Vec::new();
        collect_strings(&value, &mut texts);
        for text in texts {
            assert!(is_nfc(&text), "{}: not NFC: {text:?}", saved.url);
            assert!(
                !text.chars().any(gazette::normalize::text::is_forbidden),
                "{}: forbidden character in {text:?}",
                saved.url
            );
        }
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[test]
fn the_list_page_time_stands_in_only_when_the_page_shows_none_and_is_hashed() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let listed_at = chrono::DateTime::parse_from_rfc3339("2020-07-28T14:00:00+07:00").unwrap();
    let listed = Some(gazette::normalize::date::Published {
        at: listed_at,
        inferred: false,
    });

    let undated = gazette::extract::article(&recorded("article-1240.html").page(), source).unwrap();
    let without = gazette::normalize::article(&undated, source, "tin-ban-quan-ly", None);
    let with = gazette::normalize::article(&undated, source, "tin-ban-quan-ly", listed);
    assert_eq!(without.published, None, "article-1240's page shows no time");
    assert_eq!(with.published, Some(listed_at));
    assert!(!with.published_inferred);
    assert_eq!(
        with.content_hash,
        gazette::normalize::content_hash(&with.title, Some(&listed_at), &with.body_text),
        "the hash covers the listed time"
    );
    assert_ne!(with.content_hash, without.content_hash);

    let dated = gazette::extract::article(&recorded("article-1238.html").page(), source).unwrap();
    let own = gazette::normalize::article(&dated, source, "tin-ban-quan-ly", None);
    let both = gazette::normalize::article(&dated, source, "tin-ban-quan-ly", listed);
    assert_eq!(
        own.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2020-07-21T10:05:00+07:00")
    );
    assert_eq!(both.published, own.published, "the page's own time wins");
    assert_eq!(both.content_hash, own.content_hash);
}
