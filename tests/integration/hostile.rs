//! Pages built to hurt the parser: too deep, too many elements or attributes, huge text, bytes
//! that are not text. Each is read to an article or refused with an error; none may panic,
//! overflow the stack or take quadratic time. The large shapes are generated here, not saved.

use std::sync::LazyLock;

use chrono::Datelike;
use gazette::config::Config;
use gazette::extract::MAX_DEPTH;
use gazette::model::Page;
use proptest::prelude::*;
use url::Url;

use crate::support;

static CONFIG: LazyLock<Config> = LazyLock::new(support::shipped_config);

const URL: &str = "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=9200";

/// An article page in the portal's markup whose body is `body` (markup, not escaped): the
/// title, time and body selectors of the shipped profile all match.
fn hostile_page(body: &str) -> Vec<u8> {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>\
         <h1 class=\"News_Detail_Title\">Trang thử sức chịu</h1>\
         <span class=\"News_Time_Post\">(10:30 | 02/06/2021)</span>\
         <div id=\"divArticleDescription2\">{body}</div></body></html>"
    )
    .into_bytes()
}

/// Reads `bytes` as an article; on success also says whether it was flattened.
fn read(
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<(gazette::model::Article, bool), String> {
    let url = Url::parse(URL).unwrap();
    let page = Page {
        url: &url,
        content_type,
        bytes,
    };
    let source = support::portal_source(&CONFIG);
    let read = gazette::read_article_noted(&page, source, "tin-ban-quan-ly", None)
        .map_err(|e| e.to_string())?;
    Ok((read.article, read.flattened))
}

/// Reads a generated page that must give an article; names the shape when it does not.
fn read_body(shape: &str, body: &str) -> (gazette::model::Article, bool) {
    read(&hostile_page(body), Some("text/html; charset=utf-8"))
        .unwrap_or_else(|e| panic!("{shape}: {e}"))
}

#[test]
fn nesting_far_past_the_limit_is_flattened_with_its_text() {
    for (shape, open, close) in [
        ("div", "<div>", "</div>"),
        ("ul li", "<ul><li>", "</li></ul>"),
        ("blockquote", "<blockquote>", "</blockquote>"),
        ("table", "<table><tr><td>", "</td></tr></table>"),
        ("b", "<b>", "</b>"),
        ("font span", "<font><span>", "</span></font>"),
    ] {
        let depth = 20_000;
        let body = format!(
            "<p>Mở đầu.</p>{}Chữ ở đáy.{}<p>Kết.</p>",
            open.repeat(depth),
            close.repeat(depth)
        );
        let (article, flattened) = read_body(shape, &body);
        assert!(flattened, "{shape}: not reported as flattened");
        for text in ["Mở đầu.", "Chữ ở đáy.", "Kết."] {
            assert!(
                article.body_text.contains(text),
                "{shape}: {text:?} lost: {:?}",
                article.body_text
            );
        }
    }
}

#[test]
fn unclosed_nesting_to_the_end_of_the_page_keeps_its_text() {
    let body = format!("{}Chữ ở đáy.", "<div>".repeat(100_000));
    let (article, flattened) = read_body("open divs", &body);
    assert!(flattened);
    assert_eq!(article.body_text, "Chữ ở đáy.");
}

#[test]
fn elements_past_the_budget_are_left_out_but_their_text_is_kept() {
    let count = gazette::extract::MAX_ELEMENTS + 50_000;
    let body = format!("{}<p>Chữ cuối.</p>", "<i></i>".repeat(count));
    let (article, flattened) = read_body("empty elements", &body);
    assert!(flattened);
    assert_eq!(article.body_text, "Chữ cuối.");

    let body = format!("{}<span>Chữ cuối.</span>", "<br>".repeat(count));
    let (article, flattened) = read_body("line breaks", &body);
    assert!(flattened);
    assert_eq!(article.body_text, "Chữ cuối.");

    // Scripts past the budget are still read as scripts, not as text.
    let body = format!(
        "{}<script>var lo = 1;</script><p>Chữ cuối.</p>",
        "<i></i>".repeat(count)
    );
    let (article, _) = read_body("a script past the budget", &body);
    assert_eq!(article.body_text, "Chữ cuối.");
}

#[test]
fn reopened_formatting_elements_stay_bounded() {
    // Each `<p>` reopens every `<b>` still listed as active: without a bound, each `<p>x</p>`
    // would add hundreds of elements.
    let open: String = (0..400).map(|i| format!("<p><b class=c{i}></p>")).collect();
    let body = format!("{open}{}<p>Chữ cuối.</p>", "<p>x</p>".repeat(20_000));
    let (article, flattened) = read_body("reconstructed formatting", &body);
    assert!(flattened);
    assert!(article.body_text.ends_with("Chữ cuối."));
    assert!(
        article.body_html.len() < 50_000_000,
        "{} bytes of body",
        article.body_html.len()
    );
}

#[test]
fn content_moved_out_of_a_table_is_kept() {
    // Each paragraph is foster-parented out of the unclosed table, one parser warning each.
    let body = format!("<table>{}<p>Chữ cuối.</p>", "<p>x</p>".repeat(50_000));
    let (article, _) = read_body("foster-parented", &body);
    assert_eq!(article.body_text.matches('x').count(), 50_000);
    assert!(article.body_text.ends_with("Chữ cuối."));
}

#[test]
fn a_tag_with_many_attributes_loses_the_excess_only() {
    let attributes: String = (0..20_000).map(|i| format!(" a{i}={i}")).collect();
    let body = format!("<p{attributes}>Đoạn có thẻ dài.</p><p>Đoạn sau.</p>");
    let (article, flattened) = read_body("attributes", &body);
    assert!(flattened);
    assert_eq!(article.body_text, "Đoạn có thẻ dài.\n\nĐoạn sau.");
}

#[test]
fn one_huge_text_node_is_read_whole() {
    let body = format!("<p>{}</p>", "chữ ".repeat(250_000));
    let (article, flattened) = read_body("text node", &body);
    assert!(!flattened);
    assert_eq!(article.body_text.chars().count(), 250_000 * 4 - 1);
}

#[test]
fn thousands_of_tables_are_read_as_tables() {
    let table = "<table><tr><th>Năm</th><th>Số</th></tr><tr><td>2020</td><td>12</td></tr></table>";
    let (article, flattened) = read_body("tables", &table.repeat(3_000));
    assert!(!flattened);
    assert_eq!(
        article.body_text.matches("Năm | Số\n2020 | 12").count(),
        3_000
    );
}

#[test]
fn nul_bytes_and_invalid_utf8_never_reach_the_article() {
    let mut bytes = hostile_page("<p>Đoạn\0 có\0 ký tự rỗng.</p>");
    bytes.extend_from_slice(b"\xff\xfe\xc3\x28\xe2\x82\0");
    for charset in [
        "utf-8",
        "windows-1258",
        "iso-8859-1",
        "shift_jis",
        "utf-16le",
        "x-unknown",
    ] {
        let content_type = format!("text/html; charset={charset}");
        let (article, _) =
            read(&bytes, Some(&content_type)).unwrap_or_else(|e| panic!("{charset}: {e}"));
        let all = format!(
            "{}{}{}",
            article.title, article.body_text, article.body_html
        );
        assert!(
            !all.chars().any(gazette::normalize::text::is_forbidden),
            "{charset}: {all:?}"
        );
    }
}

#[test]
fn a_list_address_answering_an_image_is_refused_as_not_html() {
    let url = Url::parse("https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx").unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    for content_type in [Some("image/png"), None, Some("text/html")] {
        let page = Page {
            url: &url,
            content_type,
            bytes: png,
        };
        let error = gazette::read_list(&page, support::portal_source(&CONFIG)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not an HTML page (image/png)",
            "{content_type:?}"
        );
    }
}

/// Tags the generator opens: block, inline, table, list, raw-text, void and foreign ones.
const TAGS: &[&str] = &[
    "div",
    "p",
    "span",
    "b",
    "i",
    "em",
    "a",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "td",
    "th",
    "tbody",
    "blockquote",
    "figure",
    "figcaption",
    "img",
    "br",
    "h1",
    "h2",
    "font",
    "center",
    "script",
    "style",
    "title",
    "textarea",
    "svg",
    "math",
    "template",
    "select",
    "option",
    "form",
    "frameset",
    "nobr",
    "plaintext",
    "xmp",
];

/// One piece of generated markup.
fn piece() -> impl Strategy<Value = String> {
    let tag = prop::sample::select(TAGS);
    let attribute = ("[a-z]{1,3}", "[ -~]{0,8}").prop_map(|(n, v)| format!(" {n}=\"{v}\""));
    prop_oneof![
        (tag.clone(), prop::collection::vec(attribute, 0..4))
            .prop_map(|(t, a)| format!("<{t}{}>", a.concat())),
        tag.clone().prop_map(|t| format!("</{t}>")),
        // Deep nesting: one tag opened many times.
        (tag, 0usize..3_000).prop_map(|(t, n)| format!("<{t}>").repeat(n)),
        "\\PC{0,20}",
        Just("<!-- c -->".to_string()),
        Just("&amp;&#0;&#x10FFFF;&nbsp".to_string()),
    ]
}

/// Content types as servers send them, with charsets good, bad and absent.
fn content_type() -> impl Strategy<Value = Option<String>> {
    let charset = prop::sample::select(
        &[
            "utf-8",
            "windows-1258",
            "windows-1252",
            "iso-8859-1",
            "utf-16be",
            "gb18030",
            "euc-kr",
            "",
            "nonsense",
        ][..],
    );
    prop_oneof![
        Just(None),
        charset.prop_map(|c| Some(format!("text/html; charset={c}"))),
        Just(Some("image/png".to_string())),
        Just(Some("text/plain".to_string())),
    ]
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(piece(), 0..40).prop_map(|p| hostile_page(&p.concat())),
        prop::collection::vec(any::<u8>(), 0..4_000),
        (
            prop::collection::vec(piece(), 0..20),
            prop::collection::vec(any::<u8>(), 0..200)
        )
            .prop_map(|(p, raw)| {
                let mut bytes = hostile_page(&p.concat());
                let at = bytes.len() / 2;
                bytes.splice(at..at, raw);
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_page_is_read_or_refused_without_panic(
        bytes in hostile_bytes(),
        content_type in content_type(),
    ) {
        let url = Url::parse(URL).unwrap();
        let page = Page { url: &url, content_type: content_type.as_deref(), bytes: &bytes };
        let source = support::portal_source(&CONFIG);
        if let Ok(article) = gazette::read_article(&page, source, "tin-ban-quan-ly") {
            // Formatting elements reopened per paragraph can repeat markup, never past the
            // depth limit per input byte.
            let bound = (bytes.len() + 1024) * MAX_DEPTH * 8;
            prop_assert!(article.body_html.len() <= bound);
            prop_assert!(article.body_text.len() <= bound);
        }
        let _ = gazette::read_list(&page, source);
    }

    #[test]
    fn any_text_gives_a_date_or_none_without_panic(
        text in prop_oneof![
            "\\PC{0,60}",
            "[0-9/.:| \\-()hg]{0,40}",
            "(ngày|tháng|năm|giờ| |[0-9]{1,6}){0,12}",
        ],
    ) {
        if let Some(published) = gazette::normalize::date::parse(
            &text,
            chrono_tz::Asia::Ho_Chi_Minh,
            &[],
        ) {
            // The built-in forms read four-digit years only.
            prop_assert!((0..=9999).contains(&published.at.year()));
        }
    }
}
