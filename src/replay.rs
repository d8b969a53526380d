//! A local portal server: replays a recording of the portal on 127.0.0.1 for tests, benchmarks
//! and the demo mode, and misbehaves on request (statuses, delays, cut bodies, redirects).
//!
//! It is a plain HTTP server serving bytes, never a stand-in for gazette's own code: whatever
//! reads from it goes through the same network path as against the real portal.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header, response::Builder};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

use crate::html::escape_into;

/// The category list, page 1; later pages add `?Page=<n>`.
const LIST_PATH: &str = "/Pages/tin-ban-quan-ly.aspx";
/// The article page; `?ItemID=<n>` identifies the article.
const ARTICLE_PATH: &str = "/Pages/chi-tiet-tin.aspx";
/// The `l=` parameter of the links the list pages write.
const LIST_NAME: &str = "TinBanQuanLy";
/// Items on one list page.
const PAGE_SIZE: usize = 10;
/// `Last-Modified` of every recorded page: Wed, 08 Jul 2020 07:00:00 GMT.
const RECORDED_AT: DateTime<Utc> = DateTime::from_timestamp_nanos(1_594_191_600_000_000_000);
/// Synthetic article k is published k minutes after this portal-local time.
const SYNTHETIC_EPOCH: NaiveDateTime = match NaiveDate::from_ymd_opt(2020, 1, 1) {
    Some(day) => day.and_time(NaiveTime::MIN),
    None => panic!("2020-01-01 is a date"),
};
/// Synthetic ItemIDs are this plus k.
const SYNTHETIC_FIRST_ID: u64 = 100_000;
/// Bytes per chunk of a `Fault::Huge` body.
const HUGE_CHUNK: usize = 64 * 1024;

const BUNDLED_MANIFEST: &str = include_str!("../fixtures/portal/manifest.tsv");
const BUNDLED_FILES: &[(&str, &[u8])] = &[
    (
        "article-1180.html",
        include_bytes!("../fixtures/portal/article-1180.html"),
    ),
    (
        "article-1190.html",
        include_bytes!("../fixtures/portal/article-1190.html"),
    ),
    (
        "article-1211.html",
        include_bytes!("../fixtures/portal/article-1211.html"),
    ),
    (
        "article-1225.html",
        include_bytes!("../fixtures/portal/article-1225.html"),
    ),
    (
        "article-1229.html",
        include_bytes!("../fixtures/portal/article-1229.html"),
    ),
    (
        "article-1234.html",
        include_bytes!("../fixtures/portal/article-1234.html"),
    ),
    (
        "article-1236.html",
        include_bytes!("../fixtures/portal/article-1236.html"),
    ),
    (
        "article-1238.html",
        include_bytes!("../fixtures/portal/article-1238.html"),
    ),
    (
        "article-1240.html",
        include_bytes!("../fixtures/portal/article-1240.html"),
    ),
    (
        "list-tin-ban-quan-ly-p1.html",
        include_bytes!("../fixtures/portal/list-tin-ban-quan-ly-p1.html"),
    ),
    (
        "list-tin-ban-quan-ly-p2.html",
        include_bytes!("../fixtures/portal/list-tin-ban-quan-ly-p2.html"),
    ),
    (
        "list-tin-ban-quan-ly-p3.html",
        include_bytes!("../fixtures/portal/list-tin-ban-quan-ly-p3.html"),
    ),
    (
        "robots.txt",
        include_bytes!("../fixtures/portal/robots.txt"),
    ),
];

/// The pages of a portal: path-and-query -> bytes and Content-Type.
#[derive(Clone)]
pub struct Recording {
    pages: HashMap<String, RecordedPage>,
}

/// One page as served: the bytes, their headers and their validators.
#[derive(Clone)]
struct RecordedPage {
    bytes: Bytes,
    content_type: String,
    etag: String,
    modified: DateTime<Utc>,
}

impl Recording {
    /// Reads `manifest.tsv` in `dir` (lines: `url<TAB>file<TAB>content-type`; '#' lines are comments).
    ///
    /// Files are relative to `dir`. Errors name the file, and the line for a malformed row.
    pub fn load(dir: &Path) -> io::Result<Recording> {
        let manifest = dir.join("manifest.tsv");
        let text = std::fs::read_to_string(&manifest).map_err(|err| in_file(&manifest, err))?;
        Recording::from_manifest(&text, &manifest.display().to_string(), |name| {
            let file = dir.join(name);
            std::fs::read(&file).map_err(|err| in_file(&file, err))
        })
    }

    /// The recording of `fixtures/portal`, built into the binary: `gazette demo` needs no files.
    pub fn bundled() -> io::Result<Recording> {
        Recording::from_manifest(BUNDLED_MANIFEST, "fixtures/portal/manifest.tsv", |name| {
            BUNDLED_FILES
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("{name} is not bundled"))
                })
        })
    }

    /// Reads a manifest (`url<TAB>file<TAB>content-type` lines), taking each file from `read`.
    fn from_manifest(
        text: &str,
        shown: &str,
        read: impl Fn(&str) -> io::Result<Vec<u8>>,
    ) -> io::Result<Recording> {
        let mut recording = Recording::empty();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let [path_and_query, file, content_type] = manifest_row(line).ok_or_else(|| {
                let fields = line.split('\t').count();
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{shown}:{}: expected 3 tab-separated fields (url, file, content-type), got {fields}", index + 1),
                )
            })?;
            recording.set(path_and_query, read(file)?, content_type);
        }
        Ok(recording)
    }

    /// A portal of `articles` articles in the recorded template: list pages of 10 items, newest first,
    /// at /Pages/tin-ban-quan-ly.aspx (= ?Page=1) and ?Page=2.. with a `div.Paging a.next` link except on
    /// the last page; article k (k = 1..=articles) has ItemID 100000+k, published k minutes after
    /// 2020-01-01 00:00 in the page's "(HH:MM | DD/MM/YYYY)" form (so the newest has the largest k),
    /// served at both `/Pages/chi-tiet-tin.aspx?ItemID=<id>&l=TinBanQuanLy` and `?ItemID=<id>`,
    /// a body of three or four paragraphs (Vietnamese text, varied per article), and /robots.txt allowing all.
    ///
    /// With no articles there is one list page, empty. The same count always gives the same bytes.
    pub fn synthetic(articles: usize) -> Recording {
        let mut recording = Recording::empty();
        let html = "text/html; charset=utf-8";
        let newest_first: Vec<SyntheticArticle> =
            (1..=articles).rev().map(SyntheticArticle::new).collect();
        let pages = articles.div_ceil(PAGE_SIZE).max(1);
        for page in 1..=pages {
            let start = (page - 1) * PAGE_SIZE;
            let on_page = &newest_first[start..(start + PAGE_SIZE).min(articles)];
            let bytes = list_page(page, pages, on_page).into_bytes();
            if page == 1 {
                recording.set(LIST_PATH, bytes.clone(), html);
            }
            recording.set(&list_page_path(page), bytes, html);
        }
        for article in &newest_first {
            let paragraphs: Vec<&str> = article.paragraphs.iter().map(String::as_str).collect();
            let page = article_page(article.id, &article.title, &article.time, &paragraphs);
            for path in article_paths(article.id) {
                recording.set(&path, page.clone().into_bytes(), html);
            }
        }
        recording.set(
            "/robots.txt",
            b"User-agent: *\nDisallow:\n".to_vec(),
            "text/plain",
        );
        recording
    }

    /// The bytes and Content-Type served at `path_and_query`, if any.
    pub fn get(&self, path_and_query: &str) -> Option<(&[u8], &str)> {
        self.pages
            .get(path_and_query)
            .map(|page| (&page.bytes[..], page.content_type.as_str()))
    }

    /// Adds or replaces a page; its `Last-Modified` is the recording's fixed date.
    pub fn set(&mut self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        self.put(path_and_query, bytes, content_type, RECORDED_AT);
    }

    fn empty() -> Recording {
        Recording {
            pages: HashMap::new(),
        }
    }

    fn put(
        &mut self,
        path_and_query: &str,
        bytes: Vec<u8>,
        content_type: &str,
        modified: DateTime<Utc>,
    ) {
        let page = RecordedPage {
            etag: etag_of(&bytes),
            bytes: Bytes::from(bytes),
            content_type: content_type.to_string(),
            modified,
        };
        self.pages.insert(path_and_query.to_string(), page);
    }

    /// When the page at `path_and_query` last changed, if it exists.
    fn modified(&self, path_and_query: &str) -> Option<DateTime<Utc>> {
        self.pages.get(path_and_query).map(|page| page.modified)
    }
}

fn manifest_row(line: &str) -> Option<[&str; 3]> {
    let mut fields = line.split('\t');
    let row = [fields.next()?, fields.next()?, fields.next()?];
    fields.next().is_none().then_some(row)
}

fn in_file(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// An article page in the portal's template (the same markup as fixtures/portal/article-1234.html:
/// breadcrumb ul.UL_Link_Menu, h1.News_Detail_Title, span.News_Time_Post, #divArticleDescription1 sapo,
/// #divArticleDescription2 body with `<p>` paragraphs, Other_News block). `time` is the text of the
/// time span, e.g. "(13:54 | 08/07/2020)".
///
/// `title`, `time` and `paragraphs` are text: they are escaped, not markup. The sapo and the
/// Other_News list are empty, so every link the page makes stays within the template.
pub fn article_page(item_id: u64, title: &str, time: &str, paragraphs: &[&str]) -> String {
    let mut content = String::from(
        "<div class=\"Around_News_Detail\">\n  <div class=\"News_Detail_Tools\">\n    \
         <span class=\"change-font-size\">Xem với cỡ chữ<a href=\"javascript:zoominLetter();\" \
         title=\"Phóng to\">A</a><a href=\"javascript:zoomoutLetter();\" title=\"Thu nhỏ\">A</a></span>\n    \
         <a class=\"article_print\" href=\"javascript:window.print();\">In trang</a>\n",
    );
    content.push_str(&format!(
        "    <a class=\"article_mail\" href=\"/Pages/gui-email.aspx?ItemID={item_id}\">Gửi email</a>\n  </div>\n"
    ));
    content.push_str("  <div id=\"divArticleDescription3\"><h1 class=\"News_Detail_Title\">");
    escape_into(&mut content, title);
    content.push_str("</h1></div>\n  <span class=\"News_Time_Post\">");
    escape_into(&mut content, time);
    content.push_str(
        "</span>\n  <div id=\"divArticleDescription1\" class=\"News_Detail_Sapo\"></div>\n  \
         <div id=\"divArticleDescription2\" class=\"Around_News_Content\">\n",
    );
    for paragraph in paragraphs {
        content.push_str("<p style=\"text-align: justify;\">");
        escape_into(&mut content, paragraph);
        content.push_str("</p>\n");
    }
    content.push_str(
        "  </div>\n  <div class=\"Other_News\">\n    <h4>Các tin đã đưa</h4>\n    <ul>\n    </ul>\n  \
         </div>\n  <a class=\"back-to-top\" href=\"#s4-workspace\">Về đầu trang</a>\n</div>\n",
    );
    let action = format!("{ARTICLE_PATH}?ItemID={item_id}&l={LIST_NAME}");
    portal_page(title, &action, &content)
}

/// A list item (div.H3_iTem_ListNews with `h3 > a href="/Pages/chi-tiet-tin.aspx?ItemID=<id>&amp;l=TinBanQuanLy"`,
/// span.news_datetime, div.news-sapo) as the list pages write it.
///
/// The text arguments are escaped. The markup starts at `<div` and ends at `</div>`, indented
/// for its place inside the list panel.
pub fn list_item(item_id: u64, title: &str, time: &str, summary: &str) -> String {
    let mut item = format!(
        "<div class=\"H3_iTem_ListNews\">\n    <h3><a href=\"{ARTICLE_PATH}?ItemID={item_id}&amp;l={LIST_NAME}\">"
    );
    escape_into(&mut item, title);
    item.push_str("</a></h3>\n    <span class=\"news_datetime\">");
    escape_into(&mut item, time);
    item.push_str("</span>\n    <div class=\"news-sapo\">");
    escape_into(&mut item, summary);
    item.push_str("</div>\n  </div>");
    item
}

/// List page `page` of `pages`, showing `articles` (newest first).
fn list_page(page: usize, pages: usize, articles: &[SyntheticArticle]) -> String {
    let mut content = String::from(
        "<h2 class=\"category-title\">Tin Ban Quản lý</h2>\n\
         <div id=\"ctl00_SPWebPartManager1_g_5f0c3a1e_8b2d_4c7e_9a41_2d6f0b7e1c93_ctl00_pnListNews\" class=\"ListNews\">\n",
    );
    for article in articles {
        let summary = article.paragraphs.first().map_or("", String::as_str);
        content.push_str("  ");
        content.push_str(&list_item(
            article.id,
            &article.title,
            &article.time,
            summary,
        ));
        content.push('\n');
    }
    content.push_str("</div>\n");
    content.push_str(&pager(page, pages));
    let action = if page == 1 {
        LIST_PATH.to_string()
    } else {
        list_page_path(page)
    };
    portal_page("Tin Ban Quản lý", &action, &content)
}

/// The `div.Paging` bar: previous, up to five page numbers either side, next.
fn pager(page: usize, pages: usize) -> String {
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!(
            "<a class=\"prev\" href=\"{}\" title=\"Trang trước\">‹</a>",
            list_page_path(page - 1)
        ));
    }
    for number in page.saturating_sub(5).max(1)..=(page + 5).min(pages) {
        links.push(if number == page {
            format!("<span class=\"current\">{number}</span>")
        } else {
            format!("<a href=\"{}\">{number}</a>", list_page_path(number))
        });
    }
    if page < pages {
        links.push(format!(
            "<a class=\"next\" href=\"{}\" title=\"Trang sau\">›</a>",
            list_page_path(page + 1)
        ));
    }
    format!("<div class=\"Paging\">{}</div>\n", links.join(" "))
}

fn list_page_path(page: usize) -> String {
    format!("{LIST_PATH}?Page={page}")
}

/// The two addresses an article answers at: as the list links it, and canonical.
fn article_paths(item_id: u64) -> [String; 2] {
    [
        format!("{ARTICLE_PATH}?ItemID={item_id}&l={LIST_NAME}"),
        format!("{ARTICLE_PATH}?ItemID={item_id}"),
    ]
}

/// A whole portal page around `content`, the left column's part below the breadcrumb.
fn portal_page(title: &str, form_action: &str, content: &str) -> String {
    let mut page = String::with_capacity(TEMPLATE_HEAD.len() + 4096 + content.len());
    page.push_str(TEMPLATE_HEAD);
    escape_into(&mut page, title);
    page.push_str(TEMPLATE_FORM);
    escape_into(&mut page, form_action);
    page.push_str(TEMPLATE_HEADER);
    page.push_str(content);
    page.push_str(TEMPLATE_FOOTER);
    page
}

/// The recorded template up to the text of `<title>`.
const TEMPLATE_HEAD: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html dir="ltr" lang="vi-VN" xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv="X-UA-Compatible" content="IE=8" />
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="GENERATOR" content="Microsoft SharePoint" />
<meta name="progid" content="SharePoint.WebPartPage.Document" />
<title>
	"#;

/// From the end of the title to the form's `action` value.
const TEMPLATE_FORM: &str = r#"
</title>
<link rel="shortcut icon" href="/_layouts/images/favicon.ico" type="image/vnd.microsoft.icon" />
<link rel="stylesheet" type="text/css" href="/_layouts/1066/styles/Themable/corev4.css?rev=p63%2BuzTeSJc22nVGNZ5zwg%3D%3D"/>
<link rel="stylesheet" type="text/css" href="/Style%20Library/bqlkkt/css/portal.css"/>
<script type="text/javascript" src="/_layouts/1066/init.js?rev=ck%2BHdHQ8ABQHif7kr%2Bj7iQ%3D%3D"></script>
<script type="text/javascript">
// <![CDATA[
var L_Menu_BaseUrl="";
var L_Menu_LCID="1066";
var _fV4UI=true;
function zoominLetter() { var c = document.getElementById('divArticleDescription2'); if (c) c.style.fontSize = '16px'; }
function zoomoutLetter() { var c = document.getElementById('divArticleDescription2'); if (c) c.style.fontSize = '12px'; }
// ]]>
</script>
</head>
<body scroll="yes" onload="javascript:if (typeof(_spBodyOnLoadWrapper) != 'undefined') _spBodyOnLoadWrapper();">
<form name="aspnetForm" method="post" action=""#;

/// From the form's `action` to the end of the breadcrumb.
const TEMPLATE_HEADER: &str = r#"" id="aspnetForm">
<div>
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="" />
<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="" />
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTY1NDU2MTA1Mg9kFgJmD2QWAgIBD2QWBAIBD2QWAgIFD2QWAmYPZBYCAgEPFgIeE1ByZXZpb3VzQ29udHJvbE1vZGULKYgBTWljcm9zb2Z0LlNoYXJlUG9pbnQuV2ViQ29udHJvbHMuU1BDb250cm9sTW9kZSwgTWljcm9zb2Z0LlNoYXJlUG9pbnQsIFZlcnNpb249MTQuMC4wLjAsIEN1bHR1cmU9bmV1dHJhbCwgUHVibGljS2V5VG9rZW49NzFlOWJjZTExMWU5NDI5YwFk" />
</div>
<div id="s4-workspace"><div id="s4-bodyContainer">
<div class="header">
  <div class="banner"><a href="/" title="Trang chủ"><img src="/PublishingImages/banner-bqlkkt.jpg" alt="Cổng thông tin điện tử Ban quản lý khu kinh tế tỉnh Kiên Giang" /></a></div>
  <div class="site-name">Cổng thông tin điện tử Ban quản lý khu kinh tế tỉnh Kiên Giang</div>
  <ul class="topmenu">
    <li><a href="/">Trang chủ</a></li>
    <li><a href="/Pages/gioi-thieu.aspx">Giới thiệu</a></li>
    <li><a href="/Pages/tin-ban-quan-ly.aspx">Tin Ban Quản lý</a></li>
    <li><a href="/Pages/xuc-tien-dau-tu.aspx">Xúc tiến đầu tư</a></li>
    <li><a href="/Pages/van-ban.aspx">Văn bản</a></li>
    <li><a href="/Pages/lien-he.aspx">Liên hệ</a></li>
  </ul>
</div>
<table class="main-layout" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>
<td class="left-col" valign="top">
<ul class="UL_Link_Menu">
  <li class="Lv_1"><a href="/">Trang chủ</a></li>
  <li class="Lv_2"><a href="/Pages/tin-tuc.aspx">Tin tức</a></li>
  <li class="Lv_3"><a href="/Pages/tin-ban-quan-ly.aspx">Tin Ban Quản lý</a></li>
</ul>
"#;

/// From the end of the left column to the end of the page.
const TEMPLATE_FOOTER: &str = r#"</td>
<td class="right-col" valign="top" width="260">
  <div class="box-featured">
    <h2 class="box-title">Tin nổi bật</h2>
    <ul>
      <li><a href="/Pages/chi-tiet-tin.aspx?ItemID=1101&amp;l=XucTienDauTu"><h3>Giới thiệu tiềm năng đầu tư Khu kinh tế Phú Quốc</h3></a></li>
      <li><a href="/Pages/chi-tiet-tin.aspx?ItemID=1102&amp;l=XucTienDauTu"><h3>Danh mục dự án kêu gọi đầu tư giai đoạn 2016-2020</h3></a></li>
    </ul>
  </div>
  <div class="box-links">
    <h2 class="box-title">Liên kết website</h2>
    <select onchange="window.open(this.value)"><option value="">-- Chọn liên kết --</option>
      <option value="https://kiengiang.gov.vn/">Cổng TTĐT tỉnh Kiên Giang</option>
      <option value="https://chinhphu.vn/">Cổng TTĐT Chính phủ</option></select>
  </div>
</td>
</tr></table>
<div class="footer">
  <p>Bản quyền thuộc Ban Quản lý Khu kinh tế tỉnh Kiên Giang</p>
  <p>Ghi rõ nguồn khi phát hành lại thông tin từ website này.</p>
</div>
</div></div>
</form>
<script type="text/javascript">
// <![CDATA[
var g_pageLoadAnimationParams = { elementSlideIn : "sideNavBox", elementSlideInPhase2 : "contentBox" };
// ]]>
</script>
</body>
</html>
"#;

/// What the synthetic portal publishes as article k.
struct SyntheticArticle {
    id: u64,
    title: String,
    time: String,
    paragraphs: Vec<String>,
}

const SYNTHETIC_EVENTS: [&str; 8] = [
    "hội nghị triển khai nhiệm vụ",
    "khảo sát tiến độ xây dựng hạ tầng",
    "tập huấn công tác phòng cháy, chữa cháy",
    "buổi làm việc với nhà đầu tư",
    "kiểm tra công tác bảo vệ môi trường",
    "sơ kết công tác bồi thường, giải phóng mặt bằng",
    "hội thảo xúc tiến đầu tư",
    "đối thoại với doanh nghiệp",
];

const SYNTHETIC_PLACES: [&str; 6] = [
    "Khu công nghiệp Thạnh Lộc",
    "Khu kinh tế Phú Quốc",
    "Khu kinh tế cửa khẩu Hà Tiên",
    "Khu công nghiệp Thuận Yên",
    "cửa khẩu quốc tế Hà Tiên",
    "cửa khẩu Giang Thành",
];

const SYNTHETIC_SENTENCES: [&str; 10] = [
    "Tham dự có lãnh đạo Ban Quản lý Khu kinh tế tỉnh cùng đại diện các sở, ngành liên quan.",
    "Các đại biểu đã thảo luận những khó khăn, vướng mắc trong quá trình triển khai dự án.",
    "Đến nay, tỷ lệ lấp đầy đạt trên 60% diện tích đất công nghiệp có thể cho thuê.",
    "Lãnh đạo Ban đề nghị các doanh nghiệp đẩy nhanh tiến độ đầu tư, sớm đưa dự án vào hoạt động.",
    "Công tác bồi thường, giải phóng mặt bằng được triển khai đúng quy định, công khai, minh bạch.",
    "Hệ thống xử lý nước thải tập trung đã được vận hành thử nghiệm và đạt quy chuẩn.",
    "Trong năm, Ban đã cấp mới 12 giấy chứng nhận đăng ký đầu tư với tổng vốn hơn 2.300 tỷ đồng.",
    "Hội nghị thống nhất các giải pháp cải thiện môi trường đầu tư, kinh doanh trong thời gian tới.",
    "Các đơn vị được giao nhiệm vụ báo cáo kết quả thực hiện trước ngày 30 hằng tháng.",
    "Nhân dịp này, Ban đã biểu dương các tập thể, cá nhân có thành tích xuất sắc.",
];

impl SyntheticArticle {
    /// Article k: deterministic, so the same portal size always serves the same bytes.
    fn new(k: usize) -> SyntheticArticle {
        let published = SYNTHETIC_EPOCH + TimeDelta::minutes(k as i64);
        let event = SYNTHETIC_EVENTS[k % SYNTHETIC_EVENTS.len()];
        let place = SYNTHETIC_PLACES[k % SYNTHETIC_PLACES.len()];
        let opening = format!(
            "Lúc {}, Ban Quản lý Khu kinh tế tỉnh Kiên Giang tổ chức {event} tại {place}.",
            published.format("%H:%M ngày %d/%m/%Y")
        );
        let mut paragraphs = vec![opening];
        for i in 1..3 + k % 2 {
            let first = (3 * k + 2 * i) % SYNTHETIC_SENTENCES.len();
            let second = (first + 1 + k % 9) % SYNTHETIC_SENTENCES.len();
            paragraphs.push(format!(
                "{} {}",
                SYNTHETIC_SENTENCES[first], SYNTHETIC_SENTENCES[second]
            ));
        }
        SyntheticArticle {
            id: SYNTHETIC_FIRST_ID + k as u64,
            title: format!("{} tại {place} (tin số {k})", capitalised(event)),
            time: published.format("(%H:%M | %d/%m/%Y)").to_string(),
            paragraphs,
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// How to misbehave for one URL.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status (with a short HTML body) on every request.
    Status(u16),
    /// Answer this status for the next n requests, then serve normally.
    StatusTimes(u16, usize),
    /// This status (429 or 503) with `Retry-After: <secs>`, once, then normal.
    RetryAfter(u16, u64),
    /// Wait this long before answering (then answer normally).
    Delay(Duration),
    /// Announce the full Content-Length but send only the first n bytes, then close.
    /// Always a 200 (validators are not looked at); a missing page still answers 404.
    Truncate(usize),
    /// Content-Type `text/html; charset=<x>`, or None: "text/html" with no charset.
    Charset(Option<String>),
    /// A streamed 200 text/html body of this many bytes, no Content-Length.
    Huge(u64),
    /// 302 to this Location (as given: absolute or relative).
    Redirect(String),
    /// 302 to the same URL, forever.
    RedirectLoop,
}

/// One request the server received, in arrival order.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target as received: path and `?query`, not normalised.
    pub path_and_query: String,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
    /// The `If-Modified-Since` header, if sent.
    pub if_modified_since: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

impl Request {
    fn received(request: &axum::extract::Request) -> Request {
        let headers = request.headers();
        Request {
            path_and_query: request
                .uri()
                .path_and_query()
                .map_or_else(|| "/".to_string(), |target| target.as_str().to_string()),
            if_none_match: header_text(headers, header::IF_NONE_MATCH),
            if_modified_since: header_text(headers, header::IF_MODIFIED_SINCE),
            user_agent: header_text(headers, header::USER_AGENT),
            at: Instant::now(),
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// A running replay of a [`Recording`] on 127.0.0.1.
pub struct ReplayServer {
    addr: SocketAddr,
    state: Shared,
    /// Sending, or dropping it with the server, stops the serve loop.
    stop: oneshot::Sender<()>,
}

impl ReplayServer {
    /// Binds 127.0.0.1:0 and serves in a tokio task (call inside a tokio runtime).
    pub async fn start(recording: Recording) -> io::Result<ReplayServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(ServerState {
            recording,
            faults: HashMap::new(),
            log: Vec::new(),
        }));
        let app = Router::new().fallback(respond).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serving.await {
                tracing::warn!("replay server on {addr} stopped: {err}");
            }
        });
        Ok(ReplayServer { addr, state, stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`
    pub fn base_url(&self) -> Url {
        let mut url = Url::parse("http://127.0.0.1/").expect("a literal URL");
        let _ = url.set_port(Some(self.addr.port()));
        url
    }

    /// How many requests arrived for this path-and-query (exact string match, as sent on the wire).
    pub fn hits(&self, path_and_query: &str) -> usize {
        lock(&self.state)
            .log
            .iter()
            .filter(|request| request.path_and_query == path_and_query)
            .count()
    }

    /// Every request so far, in arrival order, faults included.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).log.clone()
    }

    /// Misbehaves for `path_and_query` from the next request on; replaces an earlier fault for it.
    pub fn fault(&self, path_and_query: &str, fault: Fault) {
        lock(&self.state)
            .faults
            .insert(path_and_query.to_string(), fault);
    }

    /// Serves every page normally again.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Changes or adds a page; its ETag and Last-Modified change with it.
    pub fn set_page(&self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        lock(&self.state).change_page(path_and_query, bytes, content_type);
    }

    /// Removes a page: from then on it answers 404.
    pub fn remove_page(&self, path_and_query: &str) {
        lock(&self.state).recording.pages.remove(path_and_query);
    }

    /// A new article at the top of list page 1 (both "/Pages/tin-ban-quan-ly.aspx" and "?Page=1" when
    /// present), served at both article URLs; the list item is inserted right after the opening tag of
    /// the list panel (the element whose id ends with `_pnListNews`, or the first div.H3_iTem_ListNews).
    ///
    /// The item's summary is the first paragraph. Page 1 grows by one item; later pages stay as
    /// they are. A list page with neither a panel nor an item is left unchanged, with a warning.
    pub fn add_article(&self, item_id: u64, title: &str, time: &str, paragraphs: &[&str]) {
        let summary = paragraphs.first().copied().unwrap_or("");
        let item = list_item(item_id, title, time, summary);
        let page = article_page(item_id, title, time, paragraphs);
        let mut state = lock(&self.state);
        for list in [LIST_PATH.to_string(), list_page_path(1)] {
            let Some((bytes, content_type)) = state.recording.get(&list) else {
                continue;
            };
            match with_list_item(bytes, &item) {
                Some(changed) => {
                    let content_type = content_type.to_string();
                    state.change_page(&list, changed, &content_type);
                }
                None => {
                    tracing::warn!("{list}: no list panel or list item to add article {item_id} to")
                }
            }
        }
        for path in article_paths(item_id) {
            state.change_page(&path, page.clone().into_bytes(), "text/html; charset=utf-8");
        }
    }

    /// Stops serving (also on drop): no new connections; open ones close after their answer.
    pub fn shutdown(self) {
        let _ = self.stop.send(());
    }
}

/// `page` with `item` inserted as the first entry of its list, or `None` when it has no list.
fn with_list_item(page: &[u8], item: &str) -> Option<Vec<u8>> {
    let (at, insert) = match find(page, b"_pnListNews\"") {
        Some(id) => {
            let tag_end = id + find(&page[id..], b">")? + 1;
            (tag_end, format!("\n  {item}"))
        }
        None => (
            find(page, b"<div class=\"H3_iTem_ListNews\"")?,
            format!("{item}\n  "),
        ),
    };
    let mut changed = Vec::with_capacity(page.len() + insert.len());
    changed.extend_from_slice(&page[..at]);
    changed.extend_from_slice(insert.as_bytes());
    changed.extend_from_slice(&page[at..]);
    Some(changed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

type Shared = Arc<Mutex<ServerState>>;

/// Everything a test may change while the server runs.
struct ServerState {
    recording: Recording,
    faults: HashMap<String, Fault>,
    log: Vec<Request>,
}

impl ServerState {
    /// Logs `request` and returns the fault to act on for it, using up one-shot and counted faults.
    fn receive(&mut self, request: Request) -> Option<Fault> {
        let target = request.path_and_query.clone();
        self.log.push(request);
        let fault = self.faults.get_mut(&target)?;
        let (this_time, used_up) = match fault {
            Fault::StatusTimes(_, 0) => (None, true),
            Fault::StatusTimes(status, left) => {
                *left -= 1;
                (Some(Fault::Status(*status)), *left == 0)
            }
            Fault::RetryAfter(..) => (Some(fault.clone()), true),
            other => (Some(other.clone()), false),
        };
        if used_up {
            self.faults.remove(&target);
        }
        this_time
    }

    fn change_page(&mut self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        let modified = next_modified(self.recording.modified(path_and_query));
        self.recording
            .put(path_and_query, bytes, content_type, modified);
    }

    fn page(&self, path_and_query: &str) -> Option<RecordedPage> {
        self.recording.pages.get(path_and_query).cloned()
    }
}

/// A poisoned lock still holds consistent state: every change to it is a single insert or remove.
fn lock(state: &Mutex<ServerState>) -> MutexGuard<'_, ServerState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Now, in whole seconds, and always after `previous` so that `If-Modified-Since` sees the change.
fn next_modified(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    let secs = previous.map_or(now, |previous| now.max(previous.timestamp() + 1));
    DateTime::from_timestamp(secs, 0).unwrap_or(RECORDED_AT)
}

/// The one handler: every request, whatever its method or target.
async fn respond(State(state): State<Shared>, request: axum::extract::Request) -> Response {
    let request = Request::received(&request);
    let fault = lock(&state).receive(request.clone());
    tracing::debug!(target = %request.path_and_query, ?fault, "replay request");
    match fault {
        None => page_response(&state, &request, None),
        Some(Fault::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            page_response(&state, &request, None)
        }
        Some(Fault::Status(status) | Fault::StatusTimes(status, _)) => status_page(status),
        Some(Fault::RetryAfter(status, secs)) => {
            let mut response = status_page(status);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
            response
        }
        Some(Fault::Truncate(keep)) => truncated(&state, &request.path_and_query, keep),
        Some(Fault::Charset(charset)) => {
            let content_type = match charset {
                Some(charset) => format!("text/html; charset={charset}"),
                None => "text/html".to_string(),
            };
            page_response(&state, &request, Some(&content_type))
        }
        Some(Fault::Huge(len)) => huge(len),
        Some(Fault::Redirect(location)) => redirect(&location),
        Some(Fault::RedirectLoop) => redirect(&request.path_and_query),
    }
}

/// The page as recorded: 200, or 304 when the request's validators match, or 404.
fn page_response(state: &Shared, request: &Request, content_type: Option<&str>) -> Response {
    let Some(page) = lock(state).page(&request.path_and_query) else {
        return status_page(404);
    };
    let content_type = content_type.unwrap_or(&page.content_type);
    if not_modified(request, &page) {
        return built(
            validators(Response::builder().status(304), &page),
            Body::empty(),
        );
    }
    let builder = validators(Response::builder(), &page).header(header::CONTENT_TYPE, content_type);
    built(builder, Body::from(page.bytes))
}

/// RFC 9110 order: `If-None-Match` decides when present, else `If-Modified-Since`.
fn not_modified(request: &Request, page: &RecordedPage) -> bool {
    match &request.if_none_match {
        Some(tags) => crate::server::etag_matches(tags, &page.etag),
        None => request
            .if_modified_since
            .as_deref()
            .and_then(|since| DateTime::parse_from_rfc2822(since).ok())
            .is_some_and(|since| since >= page.modified),
    }
}

fn validators(builder: Builder, page: &RecordedPage) -> Builder {
    builder
        .header(header::ETAG, &page.etag)
        .header(header::LAST_MODIFIED, http_date(page.modified))
}

/// 200 with the page's full length announced but only its first `keep` bytes sent.
fn truncated(state: &Shared, path_and_query: &str, keep: usize) -> Response {
    let Some(page) = lock(state).page(path_and_query) else {
        return status_page(404);
    };
    let sent = page.bytes.slice(..keep.min(page.bytes.len()));
    // A stream has no known length, so hyper trusts the header and closes when the body ends
    // short. Pausing once before the end lets hyper flush what was sent before it closes.
    let pause = futures_util::stream::once(tokio::task::yield_now())
        .filter_map(|()| std::future::ready(None));
    let body =
        Body::from_stream(futures_util::stream::iter([Ok::<_, Infallible>(sent)]).chain(pause));
    let builder = validators(Response::builder(), &page)
        .header(header::CONTENT_TYPE, &page.content_type)
        .header(header::CONTENT_LENGTH, page.bytes.len());
    built(builder, body)
}

/// 200, `len` bytes of filler HTML streamed in chunks, with no Content-Length.
fn huge(len: u64) -> Response {
    // ASCII, so that cutting the last chunk anywhere still leaves valid UTF-8.
    let filler = b"<p>Mot trang rat lon.</p>\n";
    let chunk = Bytes::from(filler.repeat(HUGE_CHUNK / filler.len()));
    let step = chunk.len() as u64;
    let chunks = (0..len)
        .step_by(chunk.len())
        .map(move |start| Ok::<_, Infallible>(chunk.slice(..(len - start).min(step) as usize)));
    let builder = Response::builder().header(header::CONTENT_TYPE, "text/html; charset=utf-8");
    built(
        builder,
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
}

fn redirect(location: &str) -> Response {
    let builder = Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location.as_bytes());
    built(builder, Body::empty())
}

/// `status` with a short HTML body saying so.
fn status_page(status: u16) -> Response {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\
         <body><h1>{status} {reason}</h1></body></html>\n"
    );
    let builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8");
    built(builder, Body::from(body))
}

/// The response, or a 500 naming what was wrong with it (a bad status or header from a test).
fn built(builder: Builder, body: Body) -> Response {
    builder.body(body).unwrap_or_else(|err| {
        tracing::warn!("replay server cannot answer as asked: {err}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("replay server cannot answer as asked: {err}\n"),
        )
            .into_response()
    })
}

/// `"<first 16 hex of sha256(bytes)>"`.
fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16])
}

/// IMF-fixdate, e.g. `Wed, 08 Jul 2020 07:00:00 GMT`.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
