//! The feed renderers against `docs/FEEDS.md`: real archived articles from the recorded portal are
//! rendered in every format, parsed back with feed-rs (an independent parser) and compared field
//! by field with the archive; what feed-rs hides is checked in the raw text.

use chrono::{DateTime, FixedOffset, TimeZone};
use feed_rs::model::{Entry as ParsedEntry, Feed as ParsedFeed};
use gazette::feed::{self, FeedMeta, Format, History, OpmlFeed};
use gazette::model::{Archived, Article};
use regex::Regex;
use serde_json::Value;
use url::Url;

use crate::support::{self, recorded};

const SECTION: &str = "tin-ban-quan-ly";
const AUTHORITY: &str = "bqlkkt.kiengiang.gov.vn";
const FEEDS_BASE: &str = "https://feeds.example.org/feeds/";

// ---------------------------------------------------------------------------------------------
// Building archived records and feed metadata

fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap_or_else(|e| panic!("bad test time {rfc3339}: {e}"))
}

fn read(file: &str) -> Article {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    gazette::read_article(&recorded(file).page(), source, SECTION)
        .unwrap_or_else(|e| panic!("{file} does not read: {e}"))
}

/// First seen on 1 Aug 2020 (in UTC, so the renderers must convert), revised a day later.
fn archived(article: Article) -> Archived {
    Archived {
        article,
        first_seen: at("2020-08-01T03:00:00+00:00"),
        updated: at("2020-08-02T03:30:00+00:00"),
        revisions: 1,
        gone_at: None,
    }
}

/// Every recorded article, archived, newest first as the archive hands them over.
fn recorded_archive() -> Vec<Archived> {
    let mut items: Vec<Archived> = support::manifest()
        .into_iter()
        .filter(|row| row.file.starts_with("article-"))
        .map(|row| row.file)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|file| archived(read(&file)))
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.sort_time()));
    assert_eq!(items.len(), 9, "the recording has 9 articles");
    items
}

fn one(file: &str) -> Archived {
    archived(read(file))
}

fn self_url(extension: &str) -> Url {
    Url::parse(&format!("{FEEDS_BASE}bqlkkt/{SECTION}.{extension}")).unwrap()
}

fn archive_url(month: &str, extension: &str) -> Url {
    Url::parse(&format!("{FEEDS_BASE}bqlkkt/archive/{month}.{extension}")).unwrap()
}

/// What the server says about the section feed, for the format with this file extension.
fn meta(extension: &str, items: &[Archived], history: History) -> FeedMeta {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let section = source
        .section(SECTION)
        .expect("the shipped config has the section");
    FeedMeta {
        title: format!("{} — {}", source.name, section.name),
        description: format!("Tin bài của {} — {}", source.name, section.name),
        language: source.language.clone(),
        home_page: source.list_url(section),
        self_url: self_url(extension),
        tag_authority: AUTHORITY.into(),
        feed_key: format!("bqlkkt/{SECTION}"),
        author: source.name.clone(),
        updated: feed::newest_change(items, !history.archive)
            .unwrap_or_else(|| at("2020-08-02T03:30:00+00:00")),
        ttl_minutes: 30,
        zone: source.tz(),
        history,
        hubs: Vec::new(),
        assets: feed::Assets::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading documents back

type Renderer = fn(&FeedMeta, &[Archived]) -> Vec<u8>;

/// The three formats, each with its file extension and renderer.
const FORMATS: [(&str, Renderer); 3] = [
    ("rss", feed::rss),
    ("atom", feed::atom),
    ("json", feed::json),
];

fn render(extension: &str, meta: &FeedMeta, items: &[Archived]) -> String {
    let renderer = FORMATS
        .iter()
        .find(|(ext, _)| *ext == extension)
        .map(|(_, renderer)| renderer)
        .expect("a known format");
    String::from_utf8(renderer(meta, items)).expect("a document is UTF-8")
}

/// Parses a document with feed-rs; on failure shows the document.
fn parse(name: &str, doc: &str) -> ParsedFeed {
    feed_rs::parser::Builder::new()
        .sanitize_content(false)
        .build()
        .parse(doc.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: feed-rs cannot read it: {e}\n--- document ---\n{doc}"))
}

/// Checks the XML 1.0 rules feed-rs does not, with a real XML reader: no forbidden character
/// (raw or as a reference), no entity but the five predefined ones, balanced tags, one root,
/// attribute values without `<`.
fn assert_well_formed(name: &str, doc: &str) {
    support::xml::elements(name, doc);
}

fn json_value(name: &str, doc: &str) -> Value {
    serde_json::from_str(doc)
        .unwrap_or_else(|e| panic!("{name}: not JSON: {e}\n--- document ---\n{doc}"))
}

fn title(entry: &ParsedEntry) -> &str {
    entry.title.as_ref().map_or("", |t| t.content.as_str())
}

fn ids(parsed: &ParsedFeed) -> Vec<&str> {
    parsed.entries.iter().map(|e| e.id.as_str()).collect()
}

fn entry_id(item: &Archived) -> String {
    format!("tag:{AUTHORITY},2026:{}", item.article.id)
}

/// The id an item has in a format: RSS uses the article URL as a permalink guid.
fn id_in(extension: &str, item: &Archived) -> String {
    match extension {
        "rss" => item.article.url.clone(),
        _ => entry_id(item),
    }
}

fn count(doc: &str, needle: &str) -> usize {
    doc.matches(needle).count()
}

/// The `<link …/>` (or `<atom:link …/>`) elements of a document with this rel, as written.
fn links_with_rel<'a>(doc: &'a str, rel: &str) -> Vec<&'a str> {
    let link = Regex::new(r"<(?:atom:)?link\s[^>]*>").unwrap();
    link.find_iter(doc)
        .map(|m| m.as_str())
        .filter(|tag| tag.contains(&format!(r#"rel="{rel}""#)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// RSS 2.0

#[test]
fn rss_round_trips_every_archived_field() {
    let items = recorded_archive();
    let meta = meta("rss", &items, History::default());
    let doc = render("rss", &meta, &items);
    assert_well_formed("rss", &doc);
    let parsed = parse("rss", &doc);

    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(parsed.title.as_ref().unwrap().content, meta.title);
    assert_eq!(
        parsed.description.as_ref().unwrap().content,
        meta.description
    );
    assert_eq!(parsed.language.as_deref(), Some("vi"));
    assert_eq!(parsed.ttl, Some(30));
    assert_eq!(parsed.updated, Some(meta.updated.to_utc()), "lastBuildDate");
    assert!(
        parsed
            .links
            .iter()
            .any(|l| l.href == meta.home_page.as_str()),
        "channel link is the portal page: {:?}",
        parsed.links
    );
    assert_eq!(parsed.entries.len(), items.len());
    for (entry, item) in parsed.entries.iter().zip(&items) {
        let article = &item.article;
        let name = format!("rss item {}", article.id);
        assert_eq!(title(entry), article.title, "{name}: title");
        assert_eq!(entry.links[0].href, article.url, "{name}: link");
        assert_eq!(entry.id, article.url, "{name}: guid is the article URL");
        assert_eq!(
            entry.published,
            Some(item.sort_time().to_utc()),
            "{name}: pubDate is the published instant"
        );
        let body = entry.content.as_ref().and_then(|c| c.body.as_deref());
        let content = feed::content_html(&article.body_html, &article.attachments);
        assert_eq!(body, Some(content.as_str()), "{name}: content:encoded");
        let summary = entry.summary.as_ref().map(|s| s.content.as_str());
        let description = gazette::html::escape(&article.summary);
        assert_eq!(
            summary,
            Some(description.trim()),
            "{name}: description, the summary as HTML"
        );
        let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(categories, article.category.as_slice(), "{name}: category");
        let creators: Vec<&str> = entry
            .authors
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect();
        assert_eq!(creators, article.credit.as_slice(), "{name}: dc:creator");
    }
}

#[test]
fn rss_raw_text_has_what_feed_rs_hides() {
    let items = recorded_archive();
    let meta = meta("rss", &items, History::default());
    let doc = render("rss", &meta, &items);

    assert!(doc.contains(r#"<rss version="2.0""#), "{doc}");
    assert_eq!(count(&doc, "<channel>"), 1);
    assert!(doc.contains(r#"xmlns:atom="http://www.w3.org/2005/Atom""#));
    assert!(doc.contains(r#"xmlns:content="http://purl.org/rss/1.0/modules/content/""#));
    assert!(doc.contains("<language>vi</language>"));
    assert!(doc.contains("<ttl>30</ttl>"));
    // The newest entry's time (article 1240, first seen 1 Aug: its page gives no date), not the
    // time its revision was fetched (2 Aug).
    assert!(
        doc.contains("<lastBuildDate>Sat, 01 Aug 2020 10:00:00 +0700</lastBuildDate>"),
        "{doc}"
    );
    let self_links = links_with_rel(&doc, "self");
    assert_eq!(self_links.len(), 1, "one self link: {self_links:?}");
    assert!(self_links[0].starts_with("<atom:link "));
    assert!(self_links[0].contains(&format!(r#"href="{}""#, self_url("rss"))));
    assert!(self_links[0].contains(r#"type="application/rss+xml""#));

    let pub_date_1234 = format!(
        "<guid isPermaLink=\"true\">{}</guid>",
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234"
    );
    assert!(doc.contains(&pub_date_1234), "guid of 1234: {doc}");
    assert!(doc.contains("<pubDate>Wed, 08 Jul 2020 13:54:00 +0700</pubDate>"));
    assert_eq!(count(&doc, r#"isPermaLink="true""#), items.len());
    assert_eq!(count(&doc, "<content:encoded>"), items.len());

    // Every pubDate: RFC 822, English names, 4-digit year, numeric zone, the weekday right.
    let pub_date = Regex::new(r"<pubDate>([^<]*)</pubDate>").unwrap();
    let form = Regex::new(
        r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0700$",
    )
    .unwrap();
    let dates: Vec<&str> = pub_date
        .captures_iter(&doc)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(dates.len(), items.len());
    for (date, item) in dates.iter().zip(&items) {
        assert!(
            form.is_match(date),
            "pubDate {date:?} is not RFC 822 with +0700"
        );
        let read =
            DateTime::parse_from_rfc2822(date).expect("chrono reads it (checks the weekday)");
        assert_eq!(read, item.sort_time(), "pubDate {date:?}");
    }
}

#[test]
fn rss_writes_no_author_element_for_a_credit() {
    let item = one("article-1236.html");
    assert_eq!(item.article.credit.as_deref(), Some("Phòng Quản lý Đầu tư"));
    let items = [item];
    let doc = render("rss", &meta("rss", &items, History::default()), &items);
    assert!(
        !doc.contains("<author>"),
        "RSS author must be an e-mail address"
    );
    assert!(doc.contains("<dc:creator>Phòng Quản lý Đầu tư</dc:creator>"));
    assert!(doc.contains(r#"xmlns:dc="http://purl.org/dc/elements/1.1/""#));
}

// ---------------------------------------------------------------------------------------------
// Atom 1.0

#[test]
fn atom_round_trips_every_archived_field() {
    let items = recorded_archive();
    let meta = meta("atom", &items, History::default());
    let doc = render("atom", &meta, &items);
    assert_well_formed("atom", &doc);
    let parsed = parse("atom", &doc);

    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(
        parsed.id,
        "tag:bqlkkt.kiengiang.gov.vn,2026:feed/bqlkkt/tin-ban-quan-ly"
    );
    assert_eq!(parsed.id, feed::feed_id(&meta));
    assert_eq!(parsed.title.as_ref().unwrap().content, meta.title);
    assert_eq!(parsed.language.as_deref(), Some("vi"));
    assert_eq!(parsed.updated, Some(meta.updated.to_utc()));
    let authors: Vec<_> = parsed.authors.iter().map(|a| a.name.as_deref()).collect();
    assert_eq!(authors, [Some(meta.author.as_str())]);
    let self_link = parsed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"));
    assert_eq!(
        self_link.map(|l| l.href.as_str()),
        Some(self_url("atom").as_str())
    );
    let alternate = parsed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"))
        .expect("an alternate link");
    assert_eq!(alternate.href, meta.home_page.as_str());
    assert_eq!(alternate.media_type.as_deref(), Some("text/html"));

    assert_eq!(parsed.entries.len(), items.len());
    for (entry, item) in parsed.entries.iter().zip(&items) {
        let article = &item.article;
        let name = format!("atom entry {}", article.id);
        assert_eq!(entry.id, entry_id(item), "{name}: id");
        assert_eq!(entry.id, feed::entry_id(&meta, &article.id), "{name}: id");
        assert_eq!(title(entry), article.title, "{name}: title");
        assert_eq!(
            entry.updated,
            Some(feed::entry_updated(item).to_utc()),
            "{name}: updated"
        );
        assert_eq!(
            entry.published,
            Some(item.sort_time().to_utc()),
            "{name}: published"
        );
        let link = &entry.links[0];
        assert_eq!(link.href, article.url, "{name}: link");
        assert_eq!(link.rel.as_deref(), Some("alternate"), "{name}: link rel");
        let content = entry.content.as_ref().expect("content");
        assert_eq!(content.content_type.to_string(), "text/html", "{name}");
        assert_eq!(
            content.body.as_deref(),
            Some(feed::content_html(&article.body_html, &article.attachments).as_str()),
            "{name}: content"
        );
        let summary = entry.summary.as_ref().map(|s| s.content.as_str());
        assert_eq!(summary, Some(article.summary.trim()), "{name}: summary");
        let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(categories, article.category.as_slice(), "{name}: category");
        let author = article.credit.as_deref().unwrap_or(&meta.author);
        let authors: Vec<_> = entry.authors.iter().map(|a| a.name.as_deref()).collect();
        assert_eq!(
            authors,
            [Some(author)],
            "{name}: author is the credit, else the source"
        );
    }
}

#[test]
fn atom_raw_text_has_what_feed_rs_hides() {
    let items = recorded_archive();
    let meta = meta("atom", &items, History::default());
    let doc = render("atom", &meta, &items);

    assert!(
        doc.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#),
        "{doc}"
    );
    assert!(doc.contains(r#"xml:lang="vi""#));
    let before_entries = &doc[..doc.find("<entry>").expect("entries")];
    assert_eq!(count(before_entries, "<id>"), 1, "exactly one feed id");
    assert_eq!(count(&doc, "<id>"), 1 + items.len(), "one id per entry");
    assert!(
        before_entries.contains("<updated>2020-08-01T10:00:00+07:00</updated>"),
        "the feed's updated is its newest entry's: {before_entries}"
    );

    let self_links = links_with_rel(&doc, "self");
    assert_eq!(self_links.len(), 1, "{self_links:?}");
    assert!(self_links[0].contains(&format!(r#"href="{}""#, self_url("atom"))));
    assert!(self_links[0].contains(r#"type="application/atom+xml""#));
    let alternate = links_with_rel(before_entries, "alternate");
    assert_eq!(alternate.len(), 1, "{alternate:?}");
    assert!(alternate[0].contains(r#"type="text/html""#));
    assert!(alternate[0].contains(&format!(r#"href="{}""#, meta.home_page)));

    // Escaped HTML: no CDATA, no xhtml, and the markup shows as `&lt;p`.
    assert_eq!(count(&doc, r#"<content type="html">"#), items.len());
    assert!(!doc.contains("<![CDATA["));
    assert!(!doc.contains(r#"type="xhtml""#));
    assert!(doc.contains(r#"<content type="html">&lt;p"#), "{doc}");

    // 1234: published as the portal gives it; a first revision is updated when published.
    let entry_1234 = &doc[doc.find("bqlkkt:1234</id>").unwrap()..];
    let entry_1234 = &entry_1234[..entry_1234.find("</entry>").unwrap()];
    assert!(entry_1234.contains("<published>2020-07-08T13:54:00+07:00</published>"));
    assert!(entry_1234.contains("<updated>2020-07-08T13:54:00+07:00</updated>"));
    let date = Regex::new(r"<(updated|published)>([^<]*)</").unwrap();
    let with_offset = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$").unwrap();
    for found in date.captures_iter(&doc) {
        let value = &found[2];
        assert!(
            with_offset.is_match(value),
            "{} {value:?}: RFC 3339, uppercase T, the portal's offset",
            &found[1]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Feed 1.1

#[test]
fn json_feed_meets_the_checklist() {
    let items = recorded_archive();
    let meta = meta("json", &items, History::default());
    let doc = render("json", &meta, &items);
    let feed = json_value("json", &doc);

    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["title"], meta.title.as_str());
    assert_eq!(feed["home_page_url"], meta.home_page.as_str());
    assert_eq!(feed["feed_url"], self_url("json").as_str());
    assert_eq!(feed["description"], meta.description.as_str());
    assert_eq!(feed["language"], "vi");
    assert_eq!(
        feed["authors"],
        serde_json::json!([{ "name": meta.author }])
    );
    assert!(
        feed.get("author").is_none(),
        "1.1 has `authors`, not the 1.0 `author`"
    );
    assert!(
        !doc.contains("\\u00"),
        "non-ASCII is written as UTF-8: {doc}"
    );

    let entries = feed["items"].as_array().expect("items is an array");
    assert_eq!(entries.len(), items.len());
    let with_offset = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$").unwrap();
    for (entry, item) in entries.iter().zip(&items) {
        let article = &item.article;
        let name = format!("json item {}", article.id);
        assert!(entry["id"].is_string(), "{name}: id is a string");
        assert_eq!(entry["id"], entry_id(item), "{name}: id");
        assert_eq!(entry["url"], article.url.as_str(), "{name}: url");
        assert_eq!(entry["title"], article.title.as_str(), "{name}: title");
        assert_eq!(
            entry["content_html"],
            feed::content_html(&article.body_html, &article.attachments),
            "{name}"
        );
        assert_eq!(
            entry["summary"],
            article.summary.as_str(),
            "{name}: summary"
        );
        for key in ["date_published", "date_modified"] {
            let value = entry[key]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {key}"));
            assert!(
                with_offset.is_match(value),
                "{name}: {key} {value:?} has the offset"
            );
        }
        assert_eq!(
            at(entry["date_published"].as_str().unwrap()),
            item.sort_time()
        );
        assert_eq!(
            at(entry["date_modified"].as_str().unwrap()),
            feed::entry_updated(item)
        );
        let tags: Vec<&str> = article.category.iter().map(String::as_str).collect();
        assert_eq!(entry["tags"], serde_json::json!(tags), "{name}: tags");
        let author = article.credit.as_deref().unwrap_or(&meta.author);
        assert_eq!(
            entry["authors"],
            serde_json::json!([{ "name": author }]),
            "{name}"
        );
    }
    assert_eq!(entries[0]["date_published"], "2020-08-01T10:00:00+07:00");

    // feed-rs reads JSON Feed too: the same ids and titles come back.
    let parsed = parse("json", &doc);
    let want: Vec<String> = items.iter().map(entry_id).collect();
    assert_eq!(ids(&parsed), want);
}

// ---------------------------------------------------------------------------------------------
// What holds in every format

#[test]
fn an_article_without_a_date_is_published_when_first_seen() {
    let item = one("article-1240.html");
    assert_eq!(
        item.article.published, None,
        "the page itself shows no date"
    );
    let items = [item];
    let rss = render("rss", &meta("rss", &items, History::default()), &items);
    assert!(
        rss.contains("<pubDate>Sat, 01 Aug 2020 10:00:00 +0700</pubDate>"),
        "{rss}"
    );
    let atom = render("atom", &meta("atom", &items, History::default()), &items);
    assert!(
        atom.contains("<published>2020-08-01T10:00:00+07:00</published>"),
        "{atom}"
    );
    let json = json_value(
        "json",
        &render("json", &meta("json", &items, History::default()), &items),
    );
    assert_eq!(
        json["items"][0]["date_published"],
        "2020-08-01T10:00:00+07:00"
    );
}

#[test]
fn an_article_passed_twice_is_written_once_in_every_format() {
    let first = one("article-1234.html");
    let other = one("article-1238.html");
    let mut revised = first.clone();
    revised.article.title = "Tiêu đề đã sửa".into();
    let items = [first.clone(), other.clone(), first.clone(), revised];
    for (extension, _) in FORMATS {
        let doc = render(
            extension,
            &meta(extension, &items, History::default()),
            &items,
        );
        let parsed = parse(extension, &doc);
        let want = [id_in(extension, &first), id_in(extension, &other)];
        assert_eq!(
            ids(&parsed),
            want,
            "{extension}: each article once, in the given order"
        );
        assert_eq!(
            title(&parsed.entries[0]),
            first.article.title,
            "{extension}: first kept"
        );
    }
}

#[test]
fn crawl_times_never_reach_updated() {
    // Every recorded article was fetched at the same instant: none of it may show.
    let items = recorded_archive();
    let crawled = items[0].updated;
    assert!(items.iter().all(|item| item.updated == crawled));
    let doc = render("atom", &meta("atom", &items, History::default()), &items);
    let parsed = parse("atom", &doc);
    let mut updated: Vec<_> = parsed.entries.iter().map(|e| e.updated).collect();
    updated.sort();
    updated.dedup();
    assert_eq!(updated.len(), items.len(), "no two entries share updated");
    assert_ne!(parsed.updated, Some(crawled.to_utc()), "{doc}");
    let json = json_value(
        "json",
        &render("json", &meta("json", &items, History::default()), &items),
    );
    for (entry, item) in json["items"].as_array().unwrap().iter().zip(&items) {
        assert_eq!(
            entry["date_modified"], entry["date_published"],
            "{}",
            item.article.id
        );
    }
}

#[test]
fn ids_never_change_when_an_article_is_revised() {
    let original = one("article-1234.html");
    let mut revised = original.clone();
    revised.article.title = format!("{} (cập nhật)", original.article.title);
    revised.article.body_html = format!("{}<p>Đính chính.</p>", original.article.body_html);
    revised.updated = at("2020-09-01T08:00:00+07:00");
    revised.revisions = 2;
    for (extension, _) in FORMATS {
        let before = [original.clone()];
        let after = [revised.clone()];
        let old = parse(
            extension,
            &render(
                extension,
                &meta(extension, &before, History::default()),
                &before,
            ),
        );
        let new = parse(
            extension,
            &render(
                extension,
                &meta(extension, &after, History::default()),
                &after,
            ),
        );
        assert_eq!(
            ids(&old),
            ids(&new),
            "{extension}: the id survives the revision"
        );
        assert_ne!(
            title(&old.entries[0]),
            title(&new.entries[0]),
            "{extension}: revised"
        );
        if extension != "rss" {
            assert_eq!(
                new.entries[0].updated,
                Some(revised.updated.to_utc()),
                "{extension}"
            );
            assert_eq!(
                old.entries[0].published, new.entries[0].published,
                "{extension}"
            );
            assert_eq!(
                old.entries[0].updated,
                Some(original.sort_time().to_utc()),
                "{extension}: a first revision is updated when it is published"
            );
        }
    }
    // The id does not depend on anything but the source's authority and the article id.
    let meta_a = meta("atom", &[], History::default());
    let mut meta_b = meta("json", &[], History::default());
    meta_b.feed_key = "bqlkkt/archive/2020-07".into();
    assert_eq!(
        feed::entry_id(&meta_a, &original.article.id),
        feed::entry_id(&meta_b, &original.article.id)
    );
    assert_eq!(
        feed::entry_id(&meta_a, &original.article.id),
        "tag:bqlkkt.kiengiang.gov.vn,2026:bqlkkt:1234"
    );
    assert_eq!(
        feed::tag_uri("a.example", "2026", "x"),
        "tag:a.example,2026:x"
    );
}

#[test]
fn forbidden_characters_never_reach_a_document_and_text_is_nfc() {
    let mut item = one("article-1234.html");
    let article = &mut item.article;
    // Decomposed (NFD) letters too: every document is NFC.
    article.title = "Ho\u{302}\u{323}i nghị\u{B} tổng kết\u{1}\u{FFFE} năm 2020".into();
    article.summary = format!("Tóm tắt\u{C}\u{B}{}", article.summary);
    article.body_html = format!(
        "<p>Đoạn\u{B} một\u{FFFF}\u{0}.</p><p>x ]]> y</p>{}",
        article.body_html
    );
    article.category = Some("Tin\u{1F} Ban Quản lý".into());
    article.credit = Some("Phòng\u{B} Đầu tư".into());
    let items = [item];
    let escaped = Regex::new(
        r"(?i)&#(x0*([0-8bcef]|1[0-9a-f]|fff[ef])|0*([0-8]|1[1-2]|1[4-9]|2[0-9]|3[01]|6553[45]));",
    )
    .unwrap();
    for (extension, _) in FORMATS {
        let mut meta = meta(extension, &items, History::default());
        meta.title = format!("Bản tin\u{B}{}", meta.title);
        meta.author = format!("Ban\u{1} {}", meta.author);
        let doc = render(extension, &meta, &items);
        if let Some(c) = doc
            .chars()
            .find(|c| gazette::normalize::text::is_forbidden(*c))
        {
            panic!(
                "{extension}: U+{:04X} reached the document:\n{doc}",
                u32::from(c)
            );
        }
        assert!(
            !escaped.is_match(&doc),
            "{extension}: a reference to a forbidden character"
        );
        assert!(
            !doc.contains("\\u000b") && !doc.contains("\\u0001"),
            "{extension}: \\u escapes"
        );
        if extension != "json" {
            assert_well_formed(extension, &doc);
        } else {
            json_value(extension, &doc);
        }
        let parsed = parse(extension, &doc);
        assert_eq!(
            title(&parsed.entries[0]),
            "Hội nghị tổng kết năm 2020",
            "{extension}"
        );
        assert!(
            parsed
                .title
                .as_ref()
                .unwrap()
                .content
                .starts_with("Bản tin"),
            "{extension}"
        );
        let body = parsed.entries[0]
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref());
        let body = body.expect("the content survives");
        assert!(
            body.starts_with("<p>Đoạn một.</p><p>x ]]> y</p>"),
            "{extension}: {body}"
        );
    }
}

#[test]
fn named_html_entities_are_written_as_text() {
    let mut item = one("article-1234.html");
    item.article.title = "A&nbsp;B & C".into();
    item.article.body_html = "<p>a&nbsp;b &amp; c\u{A0}d</p>".into();
    let items = [item];
    for (extension, _) in FORMATS {
        let doc = render(
            extension,
            &meta(extension, &items, History::default()),
            &items,
        );
        if extension != "json" {
            // `assert_well_formed` refuses any entity XML does not declare (outside CDATA).
            assert_well_formed(extension, &doc);
        }
        let parsed = parse(extension, &doc);
        let entry = &parsed.entries[0];
        assert_eq!(
            title(entry),
            "A&nbsp;B & C",
            "{extension}: the title reads as it was"
        );
        let body = entry.content.as_ref().and_then(|c| c.body.as_deref());
        assert_eq!(
            body,
            Some("<p>a&nbsp;b &amp; c\u{A0}d</p>"),
            "{extension}: the HTML as it was"
        );
    }
}

#[test]
fn urls_inside_content_are_absolute() {
    let items = recorded_archive();
    let url = Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    for (extension, _) in FORMATS {
        let doc = render(
            extension,
            &meta(extension, &items, History::default()),
            &items,
        );
        let parsed = parse(extension, &doc);
        let mut seen = 0;
        for entry in &parsed.entries {
            let body = entry
                .content
                .as_ref()
                .and_then(|c| c.body.as_deref())
                .unwrap_or("");
            for found in url.captures_iter(body) {
                seen += 1;
                let target = &found[1];
                assert!(
                    Url::parse(target).is_ok_and(|u| u.scheme().starts_with("http")),
                    "{extension} {}: {target:?} is not absolute",
                    entry.id
                );
            }
        }
        assert!(seen > 0, "{extension}: the recording has links and images");
    }
}

#[test]
fn an_empty_archive_gives_valid_documents() {
    for (extension, _) in FORMATS {
        let meta = meta(extension, &[], History::default());
        let doc = render(extension, &meta, &[]);
        if extension != "json" {
            assert_well_formed(extension, &doc);
        }
        let parsed = parse(extension, &doc);
        assert!(parsed.entries.is_empty(), "{extension}");
        assert_eq!(parsed.title.unwrap().content, meta.title, "{extension}");
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 5005

const FH: &str = r#"xmlns:fh="http://purl.org/syndication/history/1.0""#;

fn archive_history(extension: &str, prev: Option<&str>, next: Option<&str>) -> History {
    History {
        archive: true,
        current: Some(self_url(extension)),
        prev_archive: prev.map(|m| archive_url(m, extension)),
        next_archive: next.map(|m| archive_url(m, extension)),
        next_page: None,
    }
}

#[test]
fn an_archive_document_has_fh_archive_and_links_to_its_neighbours() {
    let items: Vec<Archived> = recorded_archive()
        .into_iter()
        .filter(|i| i.sort_time().format("%Y-%m").to_string() == "2020-07")
        .collect();
    assert!(!items.is_empty());
    for extension in ["rss", "atom"] {
        let history = archive_history(extension, Some("2020-06"), Some("2020-08"));
        let mut meta = meta(extension, &items, history);
        meta.self_url = archive_url("2020-07", extension);
        meta.feed_key = "bqlkkt/archive/2020-07".into();
        let doc = render(extension, &meta, &items);
        assert_well_formed(extension, &doc);
        assert!(doc.contains(FH), "{extension}: fh namespace\n{doc}");
        assert_eq!(count(&doc, "<fh:archive"), 1, "{extension}: one fh:archive");
        assert!(
            !doc.contains("fh:complete"),
            "{extension}: never with archive links"
        );
        for (rel, href) in [
            ("current", self_url(extension)),
            ("prev-archive", archive_url("2020-06", extension)),
            ("next-archive", archive_url("2020-08", extension)),
            ("self", archive_url("2020-07", extension)),
        ] {
            let links = links_with_rel(&doc, rel);
            assert_eq!(links.len(), 1, "{extension}: one rel={rel}: {links:?}");
            assert!(
                links[0].contains(&format!(r#"href="{href}""#)),
                "{extension}: {links:?}"
            );
            if extension == "rss" {
                assert!(
                    links[0].starts_with("<atom:link "),
                    "RSS: atom:link for {rel}"
                );
            }
        }
        let parsed = parse(extension, &doc);
        assert_eq!(parsed.entries.len(), items.len());
        let rels: Vec<_> = parsed
            .links
            .iter()
            .filter_map(|l| l.rel.as_deref())
            .collect();
        for rel in ["current", "prev-archive", "next-archive"] {
            assert!(
                rels.contains(&rel),
                "{extension}: feed-rs sees rel={rel}: {rels:?}"
            );
        }
    }
}

#[test]
fn the_oldest_and_newest_archives_leave_out_the_missing_neighbour() {
    let items = [one("article-1190.html")];
    for extension in ["rss", "atom"] {
        let oldest = meta(
            extension,
            &items,
            archive_history(extension, None, Some("2014-01")),
        );
        let doc = render(extension, &oldest, &items);
        assert!(
            links_with_rel(&doc, "prev-archive").is_empty(),
            "{extension}: oldest"
        );
        assert_eq!(links_with_rel(&doc, "next-archive").len(), 1, "{extension}");
        assert_eq!(links_with_rel(&doc, "current").len(), 1, "{extension}");

        let newest = meta(
            extension,
            &items,
            archive_history(extension, Some("2013-11"), None),
        );
        let doc = render(extension, &newest, &items);
        assert!(
            links_with_rel(&doc, "next-archive").is_empty(),
            "{extension}: newest"
        );
        assert_eq!(links_with_rel(&doc, "prev-archive").len(), 1, "{extension}");
        assert_eq!(count(&doc, "<fh:archive"), 1, "{extension}");
    }
}

#[test]
fn the_subscription_feed_links_to_the_newest_archive_and_is_no_archive() {
    let items = recorded_archive();
    for (extension, _) in FORMATS {
        let history = History {
            prev_archive: Some(archive_url("2020-07", extension)),
            ..History::default()
        };
        let doc = render(extension, &meta(extension, &items, history), &items);
        assert!(!doc.contains("fh:archive"), "{extension}: not an archive");
        assert!(
            !doc.contains("fh:complete"),
            "{extension}: no fh:complete with archive links"
        );
        if extension == "json" {
            // JSON Feed's `next_url` is the next page of this feed, never an archive month.
            let feed = json_value(extension, &doc);
            assert!(feed.get("next_url").is_none(), "{doc}");
            let next = Url::parse(&format!("{}?before=x", self_url("json"))).unwrap();
            let paged = History {
                next_page: Some(next.clone()),
                ..History::default()
            };
            let doc = render(extension, &meta(extension, &items, paged), &items);
            assert_eq!(json_value(extension, &doc)["next_url"], next.as_str());
            continue;
        }
        assert_well_formed(extension, &doc);
        let prev = links_with_rel(&doc, "prev-archive");
        assert_eq!(prev.len(), 1, "{extension}: {prev:?}");
        assert!(prev[0].contains(&format!(r#"href="{}""#, archive_url("2020-07", extension))));
        assert!(links_with_rel(&doc, "current").is_empty(), "{extension}");
        assert!(
            links_with_rel(&doc, "next-archive").is_empty(),
            "{extension}"
        );
    }
    // Without history, no RFC 5005 at all.
    for (extension, _) in FORMATS {
        let doc = render(
            extension,
            &meta(extension, &items, History::default()),
            &items,
        );
        assert!(
            !doc.contains("fh:") && !doc.contains("-archive"),
            "{extension}"
        );
        assert!(!doc.contains("next_url"), "{extension}");
    }
}

// ---------------------------------------------------------------------------------------------
// OPML

fn opml_feeds() -> Vec<OpmlFeed> {
    let portal =
        Url::parse("https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?a=1&b=2").unwrap();
    Format::ALL
        .into_iter()
        .map(|format| OpmlFeed {
            title: format!("Ban Quản lý \"KKT\" <Kiên Giang> & Tin ({})", format.name()),
            xml_url: Url::parse(&format!(
                "{FEEDS_BASE}bqlkkt/{SECTION}.{}?x=1&y=2",
                format.extension()
            ))
            .unwrap(),
            html_url: portal.clone(),
            format,
        })
        .collect()
}

#[test]
fn opml_lists_every_feed_given() {
    let feeds = opml_feeds();
    let created = chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2020, 7, 8, 13, 54, 0)
        .unwrap()
        .fixed_offset();
    let doc = String::from_utf8(feed::opml("gazette & co", &feeds, created)).unwrap();
    assert_well_formed("opml", &doc);
    assert!(
        doc.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{doc}"
    );
    assert!(doc.contains(r#"<opml version="2.0">"#));
    assert!(doc.contains("<title>gazette &amp; co</title>"));
    assert!(doc.contains("<dateCreated>Wed, 08 Jul 2020 13:54:00 +0700</dateCreated>"));

    let outline = Regex::new(r"<outline\s[^>]*/>").unwrap();
    let outlines: Vec<&str> = outline.find_iter(&doc).map(|m| m.as_str()).collect();
    assert_eq!(outlines.len(), feeds.len(), "{doc}");
    for (outline, feed) in outlines.iter().zip(&feeds) {
        let escaped_title = feed
            .title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let escaped_url = |url: &Url| url.as_str().replace('&', "&amp;");
        assert!(outline.contains(r#"type="rss""#), "{outline}");
        assert!(
            outline.contains(&format!(r#"text="{escaped_title}""#)),
            "{outline}"
        );
        assert!(
            outline.contains(&format!(r#"title="{escaped_title}""#)),
            "{outline}"
        );
        assert!(
            outline.contains(&format!(r#"xmlUrl="{}""#, escaped_url(&feed.xml_url))),
            "{outline}"
        );
        assert!(
            outline.contains(&format!(r#"htmlUrl="{}""#, escaped_url(&feed.html_url))),
            "{outline}"
        );
    }
    assert!(outlines[0].contains(r#"version="RSS2""#));
    assert!(outlines[1].contains("(Atom)") && !outlines[1].contains("version="));
}

#[test]
fn opml_strips_forbidden_characters() {
    let mut feeds = opml_feeds();
    feeds[0].title = "Tin\u{B} mới\u{FFFE}\ttab".into();
    let created = at("2020-07-08T13:54:00+07:00");
    let doc = String::from_utf8(feed::opml("gazette\u{1}", &feeds, created)).unwrap();
    assert_well_formed("opml", &doc);
    assert!(doc.contains(r#"text="Tin mới&#9;tab""#), "{doc}");
    assert!(doc.contains("<title>gazette</title>"));
}

#[test]
fn the_well_formedness_check_refuses_broken_xml() {
    assert_well_formed(
        "good",
        "<?xml version=\"1.0\"?>\n<a x=\"1 &amp; 2\"><b/><![CDATA[&nbsp; <]]>&#233;</a>",
    );
    for broken in [
        "<a>&nbsp;</a>",
        "<a>&#x0B;</a>",
        "<a>&#11;</a>",
        "<a>\u{B}</a>",
        "<a>\u{FFFE}</a>",
        "<a><b></a></b>",
        "<a x=\"<\"/>",
        "<a>x & y</a>",
        "<a/><b/>",
        "<a>",
        "<a>]]></a>",
    ] {
        assert!(
            support::xml::read(broken).is_err(),
            "{broken:?} passed the check"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The content an item carries in a format: `content:encoded`, Atom `content`, `content_html`.
fn content_of(extension: &str, doc: &str) -> String {
    if extension == "json" {
        let feed = json_value(extension, doc);
        return feed["items"][0]["content_html"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let element = if extension == "rss" {
        "content:encoded"
    } else {
        "content"
    };
    support::xml::elements(extension, doc)
        .into_iter()
        .find(|e| e.name == element)
        .map(|e| e.text)
        .expect("content")
}

#[test]
fn each_image_and_caption_has_a_block_of_its_own_inside_its_figure() {
    // 1234 has three figures, two of them captioned.
    let items = [one("article-1234.html")];
    let captions: Vec<String> = items[0]
        .article
        .images
        .iter()
        .filter_map(|i| i.caption.clone())
        .collect();
    assert_eq!((items[0].article.images.len(), captions.len()), (3, 2));
    let img = Regex::new(r"<img [^>]*>").unwrap();
    for (extension, _) in FORMATS {
        let doc = render(
            extension,
            &meta(extension, &items, History::default()),
            &items,
        );
        let content = content_of(extension, &doc);
        assert_eq!(count(&content, "<figure>"), 3, "{extension}: {content}");
        let images: Vec<_> = img.find_iter(&content).collect();
        assert_eq!(images.len(), 3, "{extension}");
        for image in images {
            let before = &content[..image.start()];
            let after = &content[image.end()..];
            assert!(
                before.ends_with("<figure><p>") && after.starts_with("</p>"),
                "{extension}: {} is not in a paragraph of its own in its figure",
                image.as_str()
            );
        }
        assert_eq!(
            count(&content, "<figcaption><p>"),
            2,
            "{extension}: {content}"
        );
        assert_eq!(
            count(&content, "</p></figcaption></figure>"),
            2,
            "{extension}"
        );
        if extension == "atom" {
            check_with_w3m(&content, &captions);
        }
    }
}

/// How a text browser that ignores `<figure>` lays the content out: each caption on a line of
/// its own, and no caption on the line of an image. Only where w3m is installed (CI installs it);
/// the markup checks above hold either way.
fn check_with_w3m(content: &str, captions: &[String]) {
    let run = std::process::Command::new("w3m")
        .args(["-dump", "-T", "text/html", "-cols", "400"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match run {
        Ok(child) => child,
        Err(err) => {
            eprintln!("w3m not run ({err}): figures checked by their markup only");
            return;
        }
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "w3m failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for caption in captions {
        assert!(
            lines.contains(&caption.trim()),
            "caption {caption:?} not on a line of its own:\n{text}"
        );
    }
}

#[test]
fn every_rss_item_has_an_html_description_before_its_content() {
    // 1238: a summary with markup characters; 1211 without a summary but with a caption; 1225
    // with neither.
    let mut with_markup = one("article-1238.html");
    with_markup.article.summary = "Vốn < 5 tỷ & \"mới\"".into();
    let mut captioned = one("article-1211.html");
    captioned.article.summary = String::new();
    let mut bare = one("article-1225.html");
    bare.article.summary = " ".into();
    let items = [with_markup, captioned.clone(), bare.clone()];
    let doc = render("rss", &meta("rss", &items, History::default()), &items);
    let elements = support::xml::elements("rss", &doc);
    let descriptions: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "description")
        .skip(1) // the channel's
        .map(|e| e.text.as_str())
        .collect();
    let caption = captioned.article.images[0].caption.clone().unwrap();
    assert_eq!(
        descriptions,
        [
            "Vốn &lt; 5 tỷ &amp; &quot;mới&quot;",
            caption.as_str(),
            bare.article.title.as_str()
        ],
        "{doc}"
    );
    for item in doc.split("<item>").skip(1) {
        let description = item.find("<description>").expect("a description");
        let content = item.find("<content:encoded>").expect("content");
        assert!(description < content, "description first: {item}");
    }
}
