//! The synthetic portal: the recorded portal's HTML template filled with generated articles,
//! any number of them, the same bytes for the same count; and pages in that template for tests
//! that add articles while a replay runs.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::{Recording, ReplayServer};
use crate::html::escape_into;

/// The category list, page 1; later pages add `?Page=<n>`.
const LIST_PATH: &str = "/Pages/tin-ban-quan-ly.aspx";
/// The article page; `?ItemID=<n>` identifies the article.
const ARTICLE_PATH: &str = "/Pages/chi-tiet-tin.aspx";
/// The `l=` parameter of the links the list pages write.
const LIST_NAME: &str = "TinBanQuanLy";
/// Items on one list page.
const PAGE_SIZE: usize = 10;
/// Synthetic article k is published k minutes after this portal-local time.
const SYNTHETIC_EPOCH: NaiveDateTime = match NaiveDate::from_ymd_opt(2020, 1, 1) {
    Some(day) => day.and_time(NaiveTime::MIN),
    None => panic!("2020-01-01 is a date"),
};
/// Synthetic ItemIDs are this plus k.
const SYNTHETIC_FIRST_ID: u64 = 100_000;

impl Recording {
    /// A portal of `articles` articles in the recorded template: list pages of 10 items, newest first,
    /// at /Pages/tin-ban-quan-ly.aspx (= ?Page=1) and ?Page=2.. with a `div.Paging a.next` link except on
    /// the last page; article k (k = 1..=articles) has ItemID 100000+k, published k minutes after
    /// 2020-01-01 00:00 in the page's "(HH:MM | DD/MM/YYYY)" form (so the newest has the largest k),
    /// served at both `/Pages/chi-tiet-tin.aspx?ItemID=<id>&l=TinBanQuanLy` and `?ItemID=<id>`,
    /// a body of three to five paragraphs (Vietnamese text, varied per article; one in ten has a
    /// phrase planted for search ranking, or its near miss), and /robots.txt allowing all.
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
}

impl ReplayServer {
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
        let mut state = self.lock();
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

/// Phrases planted for search ranking to find: (a title with the phrase, a sentence with it, a
/// title with the same syllables apart or reversed, a sentence with them apart or reversed).
/// Article k with k % 20 == 13 has the first two, k % 20 == 3 the sentence alone, k % 20 == 17
/// the near misses; the entry is the (k / 20)th, in turn.
const SYNTHETIC_PLANTED: [[&str; 4]; 10] = [
    [
        "Cấp nước sạch cho khu dân cư",
        "Dự án cấp nước sạch đã hoàn thành giai đoạn một.",
        "Nạo vét kênh, làm sạch nguồn nước",
        "Các đơn vị ra quân làm sạch kênh rạch, bảo vệ nguồn nước.",
    ],
    [
        "Nâng cấp tuyến giao thông nội bộ",
        "Tuyến giao thông nội bộ được trải nhựa, lắp đèn chiếu sáng.",
        "Thông tin về giao nhận hàng hóa",
        "Doanh nghiệp được thông tin về thủ tục giao nhận hàng hóa.",
    ],
    [
        "Trồng cây xanh dọc trục đường chính",
        "Hơn 2.000 cây xanh được trồng dọc các tuyến đường.",
        "Phủ xanh đất trống bằng cây bản địa",
        "Diện tích đất trống được phủ xanh bằng cây bản địa.",
    ],
    [
        "Khánh thành nhà máy chế biến thủy sản",
        "Nhà máy có công suất 20.000 tấn sản phẩm mỗi năm.",
        "Máy móc, thiết bị cho nhà xưởng mới",
        "Doanh nghiệp lắp đặt máy móc, thiết bị cho nhà xưởng.",
    ],
    [
        "Ký kết hợp tác với Điện lực Kiên Giang",
        "Điện lực Kiên Giang cam kết cấp điện ổn định cho các dự án.",
        "Nỗ lực cấp điện cho dự án mới",
        "Các đơn vị nỗ lực kéo điện đến chân hàng rào dự án.",
    ],
    [
        "Phát triển du lịch biển đảo",
        "Ngành du lịch đón hơn 5 triệu lượt khách trong năm.",
        "Lịch làm việc của đoàn du khảo",
        "Lịch trình đoàn du khảo gồm ba ngày làm việc.",
    ],
    [
        "Hội chợ nông sản và hàng tiêu dùng",
        "Gian hàng nông sản thu hút đông đảo khách tham quan.",
        "Sản xuất nông nghiệp công nghệ cao",
        "Mô hình sản xuất nông nghiệp công nghệ cao được nhân rộng.",
    ],
    [
        "Phối hợp với Hải quan cửa khẩu",
        "Lực lượng hải quan rút ngắn thời gian kiểm tra hàng hóa.",
        "Cơ quan chức năng kiểm tra hải sản",
        "Các cơ quan chức năng kiểm tra chất lượng hải sản xuất khẩu.",
    ],
    [
        "Giải ngân vốn vay ưu đãi",
        "Doanh nghiệp tiếp cận vốn vay ưu đãi lãi suất thấp.",
        "Vay ngân hàng bổ sung vốn lưu động",
        "Doanh nghiệp vay ngân hàng để bổ sung vốn lưu động.",
    ],
    [
        "Quy hoạch cảng biển Hòn Chông",
        "Cảng biển Hòn Chông đón tàu trọng tải 5.000 tấn.",
        "Biển báo mới tại khu cảng cá",
        "Khu vực cảng cá được lắp biển báo mới.",
    ],
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
        let mut title = format!("{} tại {place} (tin số {k})", capitalised(event));
        let [planted_title, planted, near_title, near] =
            SYNTHETIC_PLANTED[(k / 20) % SYNTHETIC_PLANTED.len()];
        match k % 20 {
            13 => {
                title = format!("{planted_title} (tin số {k})");
                paragraphs.push(planted.to_string());
            }
            3 => paragraphs.push(planted.to_string()),
            17 => {
                title = format!("{near_title} (tin số {k})");
                paragraphs.push(near.to_string());
            }
            _ => {}
        }
        SyntheticArticle {
            id: SYNTHETIC_FIRST_ID + k as u64,
            title,
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
