//! The config contract other CMS families need, on the pages of `fixtures/templates`: ids
//! inside query values, dates in attributes, what `remove` hides, WordPress images, the
//! readability fallback and list dates without a time.

use gazette::archive::prelude::*;
use gazette::config::{BodyFallback, Config, Css, IdPattern, Source};
use gazette::extract::ExtractError;
use gazette::normalize::date::Published;
use url::Url;

use crate::support::{self, SavedPage};

fn css(text: &str) -> Css {
    Css::try_from(text.to_string()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The shipped config's source, with its profile edited as a test needs.
fn source(edit: impl FnOnce(&mut Source)) -> Source {
    let config: Config = support::shipped_config();
    let mut source = config.sources[0].clone();
    edit(&mut source);
    source
}

fn template_page(template: &str, file: &str, url: &str) -> SavedPage {
    SavedPage::read(
        &support::fixture(&format!("templates/{template}/{file}")),
        url,
        Some("text/html; charset=utf-8"),
    )
}

fn joomla() -> Source {
    source(|s| {
        s.base_url = gazette::config::HttpUrl(Url::parse("https://stnmt.tinh.example/").unwrap());
        s.allowed_hosts = Vec::new();
        s.canonical_query = Some(vec!["option".into(), "view".into(), "id".into()]);
        s.id_param = Some("id".into());
        s.id_pattern = Some(IdPattern::try_from(r"^(\d+)".to_string()).unwrap());
        s.article.title = css(r#"h1[itemprop="headline"]"#);
        s.article.published = Some(css(r#"time[itemprop="datePublished"]@datetime"#));
        s.article.body = css("div.com-content-article__body");
        s.article.category = Some(css("ol.breadcrumb > :nth-last-child(2)"));
        s.article.credit = Some(css(r#"p[style="text-align: right;"]"#));
        s.article.attachments = Some(css(r#"div.com-content-article__body a[href$=".pdf" i]"#));
    })
}

#[test]
fn joomla_aliases_itemids_and_a_bare_id_are_one_article() {
    let source = joomla();
    let file = support::fixture("templates/joomla/article-1452.html");
    let addresses = [
        "https://stnmt.tinh.example/index.php?option=com_content&view=article&id=1452:ra-quan-chien-dich-lam-sach-moi-truong&catid=12&Itemid=105",
        "https://stnmt.tinh.example/index.php?option=com_content&view=article&id=1452:ten-khac&Itemid=101",
        "https://stnmt.tinh.example/index.php?option=com_content&view=article&id=1452",
    ];
    for address in addresses {
        let page = SavedPage::read(&file, address, Some("text/html; charset=utf-8"));
        let article = gazette::read_article(&page.page(), &source, "tin-tuc").unwrap();
        assert_eq!(article.id.0, "bqlkkt:1452", "{address}");
        assert_eq!(
            article.url,
            "https://stnmt.tinh.example/index.php?option=com_content&view=article&id=1452",
            "{address}"
        );
    }
}

#[test]
fn an_id_value_the_pattern_does_not_match_falls_back_to_the_hash() {
    let source = joomla();
    let file = support::fixture("templates/joomla/article-1452.html");
    let page = SavedPage::read(
        &file,
        "https://stnmt.tinh.example/index.php?option=com_content&view=article&id=gioi-thieu",
        Some("text/html"),
    );
    let article = gazette::read_article(&page.page(), &source, "tin-tuc").unwrap();
    assert_ne!(article.id.0, "bqlkkt:gioi-thieu");
    assert_eq!(article.id.0.len(), "bqlkkt:".len() + 16, "{}", article.id);
}

#[test]
fn a_date_is_read_from_the_attribute_a_selector_names() {
    let page = template_page(
        "wordpress",
        "article-2039.html",
        "https://stttt.tinh.example/2020/12/21/khai-truong-cong-dich-vu-cong-tinh/",
    );
    for selector in [
        "time.entry-date@datetime",
        r#"meta[property="article:published_time"]@content"#,
    ] {
        let source = source(|s| {
            s.article.title = css("h1.entry-title");
            s.article.body = css("div.entry-content");
            s.article.published = Some(css(selector));
        });
        let article = gazette::read_article(&page.page(), &source, "tin-tuc").unwrap();
        assert_eq!(
            article.published.map(|p| p.to_rfc3339()).as_deref(),
            Some("2020-12-21T09:15:00+07:00"),
            "{selector}"
        );
        assert!(!article.published_inferred, "{selector}");
    }
    // The text of the same element gives the day only.
    let source = source(|s| {
        s.article.title = css("h1.entry-title");
        s.article.body = css("div.entry-content");
        s.article.published = Some(css("time.entry-date"));
    });
    let article = gazette::read_article(&page.page(), &source, "tin-tuc").unwrap();
    assert_eq!(
        article.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2020-12-21T00:00:00+07:00")
    );
    assert!(article.published_inferred);
}

#[test]
fn remove_hides_blocks_from_the_body_but_not_from_the_other_selectors() {
    let page = support::recorded("article-1236.html");
    let plain = source(|_| {});
    let removing = source(|s| {
        s.article.remove.push(css("div.News_Attachments"));
        s.article.remove.push(css("div.News_Source"));
        // The link to the report inside the body is removed from it, but still an attachment.
        s.article.remove.push(css("#divArticleDescription2 table"));
        s.article.attachments = Some(css(
            "div.News_Attachments a, #divArticleDescription2 table a",
        ));
    });
    let before = gazette::read_article(&page.page(), &plain, "tin-ban-quan-ly").unwrap();
    let after = gazette::read_article(&page.page(), &removing, "tin-ban-quan-ly").unwrap();
    assert_eq!(
        after.attachments, before.attachments,
        "attachments inside a removed block stay"
    );
    assert_eq!(
        after.credit.as_deref(),
        Some("Phòng Quản lý Đầu tư"),
        "a removed element is still matched"
    );
    assert!(before.body_text.contains("Khu công nghiệp Thạnh Lộc"));
    assert!(
        !after.body_text.contains("Khu công nghiệp Thạnh Lộc"),
        "the table left the body"
    );
}

#[test]
fn wordpress_lazy_images_galleries_captions_and_emoji() {
    let source = source(|s| {
        s.article.title = css("h1.entry-title");
        s.article.body = css("div.entry-content");
        s.article.remove = vec![css(".sharedaddy")];
    });
    let lazy = template_page(
        "wordpress",
        "article-2051.html",
        "https://stttt.tinh.example/2021/03/15/hoi-thao-chuyen-doi-so-trong-co-quan-nha-nuoc/",
    );
    let article = gazette::read_article(&lazy.page(), &source, "tin-tuc").unwrap();
    let images: Vec<(&str, Option<&str>)> = article
        .images
        .iter()
        .map(|i| (i.url.as_str(), i.caption.as_deref()))
        .collect();
    assert_eq!(
        images,
        vec![
            // data: placeholder in src, the real address in data-lazy-src
            (
                "https://stttt.tinh.example/wp-content/uploads/2021/03/hoi-thao-cds-1024x683.jpg",
                Some("Các đại biểu dự hội thảo.")
            ),
            // a Gutenberg gallery: every image with its own caption
            (
                "https://stttt.tinh.example/wp-content/uploads/2021/03/hoi-thao-1.jpg",
                Some("Phát biểu khai mạc.")
            ),
            (
                "https://stttt.tinh.example/wp-content/uploads/2021/03/hoi-thao-2.jpg",
                Some("Thảo luận tại hội thảo.")
            ),
        ]
    );
    assert!(
        article.body_text.contains("nhà nước 🎉 với"),
        "the emoji image became its alt text: {}",
        article.body_text
    );
    assert!(
        !article.body_text.contains("Chia sẻ"),
        "the sharing widget was removed"
    );
    let classic = template_page(
        "wordpress",
        "article-2039.html",
        "https://stttt.tinh.example/2020/12/21/khai-truong-cong-dich-vu-cong-tinh/",
    );
    let article = gazette::read_article(&classic.page(), &source, "tin-tuc").unwrap();
    assert_eq!(article.images.len(), 1);
    // A placeholder in src and a small data-src: the widest srcset candidate wins over neither,
    // data-src is the lazy loader's real address.
    assert_eq!(
        article.images[0].url,
        "https://stttt.tinh.example/wp-content/uploads/2020/12/cong-dvc-moi-300x169.png"
    );
    assert_eq!(
        article.images[0].caption.as_deref(),
        Some("Giao diện Cổng dịch vụ công phiên bản mới."),
        ".wp-caption-text is the caption"
    );
}

#[test]
fn readability_finds_the_body_when_the_selector_matches_nothing() {
    let page = support::recorded("article-1236.html");
    let broken = source(|s| s.article.body = css("#renamed-by-a-new-template"));
    let err = gazette::read_article(&page.page(), &broken, "tin-ban-quan-ly").unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::NoMatch {
                field: "article.body",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the page is not an article page of this source"),
        "{err}"
    );
    let fallback = source(|s| {
        s.article.body = css("#renamed-by-a-new-template");
        s.article.fallback = Some(BodyFallback::Readability);
    });
    let read =
        gazette::read_article_noted(&page.page(), &fallback, "tin-ban-quan-ly", None).unwrap();
    assert!(read.readability, "the article is marked");
    assert!(
        read.article
            .body_text
            .contains("Ban đã cấp mới Giấy chứng nhận đăng ký đầu tư cho 12 dự án"),
        "{}",
        read.article.body_text
    );
    let matched =
        gazette::read_article_noted(&page.page(), &source(|_| {}), "tin-ban-quan-ly", None)
            .unwrap();
    assert!(!matched.readability);
}

#[test]
fn a_list_date_without_a_time_marks_the_article_published_inferred() {
    let source = source(|s| {
        s.base_url = gazette::config::HttpUrl(Url::parse("http://soyte.tinh.example/").unwrap());
        s.allowed_hosts = Vec::new();
        s.canonical_query = Some(vec!["id".into()]);
        s.id_param = Some("id".into());
        s.list.item = css("table.dstin tr");
        s.list.link = css("a.tieude");
        s.list.published = Some(css("font.ngay"));
        s.list.summary = None;
        s.article.title = css("td.tieudechitiet");
        s.article.published = None;
        s.article.body = css("td.noidung");
    });
    let list = template_page(
        "table",
        "list.html",
        "http://soyte.tinh.example/tintuc.asp?cat=3",
    );
    let list = gazette::read_list(&list.page(), &source).unwrap();
    let item = &list.items[0];
    assert_eq!(item.url, "http://soyte.tinh.example/chitiet.asp?id=815");
    assert!(item.published_inferred, "the list shows no time");
    let page = template_page(
        "table",
        "article-815.html",
        "http://soyte.tinh.example/chitiet.asp?cat=3&id=815&page=1",
    );
    let listed = item.published.map(|at| Published {
        at,
        inferred: item.published_inferred,
    });
    let read = gazette::read_article_noted(&page.page(), &source, "tin-y-te", listed).unwrap();
    assert_eq!(
        read.article.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2021-03-08T00:00:00+07:00")
    );
    assert!(read.article.published_inferred);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_report_lists_articles_whose_body_readability_found() {
    let portal = support::TestPortal::recorded().await;
    portal.server.add_article(
        9201,
        "Bài viết theo mẫu mới",
        "(08:00 | 02/06/2021)",
        &["x"],
    );
    let renamed = std::fs::read_to_string(support::fixture("portal/article-1236.html"))
        .unwrap()
        .replace("divArticleDescription2", "divArticleBody");
    for path in [
        "/Pages/chi-tiet-tin.aspx?ItemID=9201",
        "/Pages/chi-tiet-tin.aspx?ItemID=9201&l=TinBanQuanLy",
    ] {
        portal.server.set_page(
            path,
            renamed.clone().into_bytes(),
            "text/html; charset=utf-8",
        );
    }
    let mut source = portal.source().clone();
    source.article.fallback = Some(BodyFallback::Readability);
    let archive = portal.open_archive();
    let fetcher = gazette::fetch::Fetcher::new(&portal.config.crawler).unwrap();
    let report = gazette::crawl::crawl_source(
        &fetcher,
        &gazette::archive::Handle::new(archive.clone()),
        &source,
        &portal.config.crawler,
        gazette::crawl::CrawlOptions {
            backfill: false,
            max_pages: None,
        },
        &gazette::crawl::quiet,
    )
    .await;
    let url = portal
        .server
        .base_url()
        .join("/Pages/chi-tiet-tin.aspx?ItemID=9201")
        .unwrap()
        .to_string();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.readability, vec![url], "{report:?}");
    let archived = archive
        .article(&gazette::model::ArticleId("bqlkkt:9201".into()))
        .unwrap()
        .expect("the article is archived");
    assert!(
        archived
            .article
            .body_text
            .contains("cấp mới Giấy chứng nhận đăng ký đầu tư"),
        "{}",
        archived.article.body_text
    );
}

/// Session ids in a link are a visitor's, not the article's: one article, one URL, one id.
#[test]
fn session_ids_are_never_part_of_the_canonical_url() {
    let file = support::fixture("templates/joomla/article-1452.html");
    let read = |source: &Source, address: &str| {
        let page = SavedPage::read(&file, address, Some("text/html; charset=utf-8"));
        let article = gazette::read_article(&page.page(), source, "tin-tuc").unwrap();
        (article.url, article.id.0)
    };
    let mut every_key = joomla();
    every_key.canonical_query = None;
    every_key.id_param = None;
    every_key.id_pattern = None;
    let plain = read(
        &every_key,
        "https://stnmt.tinh.example/tin/bai-viet.jsp?id=7",
    );
    for address in [
        "https://stnmt.tinh.example/tin/bai-viet.jsp;jsessionid=9A1B2C3D4E5F?id=7",
        "https://stnmt.tinh.example/tin/bai-viet.jsp;JSESSIONID=9A1B2C3D4E5F?id=7",
        "https://stnmt.tinh.example/tin/bai-viet.jsp?id=7&PHPSESSID=3f2a9c77e1",
        "https://stnmt.tinh.example/tin/bai-viet.jsp?sid=ab12&id=7",
        "https://stnmt.tinh.example/tin/bai-viet.jsp?id=7&sessionid=x1&ASPSESSIONIDQQ=abc",
    ] {
        assert_eq!(read(&every_key, address), plain, "{address}");
    }
    assert_eq!(
        plain.0, "https://stnmt.tinh.example/tin/bai-viet.jsp?id=7",
        "the session keys are dropped, the rest kept"
    );
    // A profile that names `sid` means it: a portal whose `sid` is a section.
    let mut sid_named = every_key.clone();
    sid_named.canonical_query = Some(vec!["sid".into(), "id".into()]);
    let (url, _) = read(
        &sid_named,
        "https://stnmt.tinh.example/tin/bai-viet.jsp?sid=4&id=7&PHPSESSID=3f2a",
    );
    assert_eq!(
        url,
        "https://stnmt.tinh.example/tin/bai-viet.jsp?sid=4&id=7"
    );
}
