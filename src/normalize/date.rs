//! Publication dates as Vietnamese portals write them: always day first, in the source's zone.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use regex::Regex;

use crate::config::DateFormat;

/// A recognised publication time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub at: DateTime<FixedOffset>,
    /// No time of day was given: midnight was assumed.
    pub inferred: bool,
}

static DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\D)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:\D|$)").expect("constant regex")
});
static YEAR_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\D)(\d{4})-(\d{1,2})-(\d{1,2})(?:\D|$)").expect("constant regex")
});
static IN_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})").expect("constant regex")
});
/// `28 Tháng 12 2020`, `28 tháng 12, 2020`: day, the word, the month's number, the year.
static DAY_MONTH_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\D)(\d{1,2})\s+tháng\s+(\d{1,2}),?\s+(\d{4})(?:\D|$)")
        .expect("constant regex")
});
/// The month names of WordPress's Vietnamese locale, longest first so `Mười Hai` is not `Mười`.
const MONTH_NAMES: &str =
    r"(mười\s+một|mười\s+hai|mười|một|giêng|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín|chạp)";
/// `Tháng Ba 15, 2021` (WordPress's `F j, Y` in Vietnamese).
static NAMED_MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)tháng\s+{MONTH_NAMES}\s+(\d{{1,2}}),?\s+(\d{{4}})(?:\D|$)"
    ))
    .expect("constant regex")
});
/// `15 Tháng Ba, 2021` (WordPress's `j F, Y` in Vietnamese).
static NAMED_MONTH_SECOND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|\D)(\d{{1,2}})\s+tháng\s+{MONTH_NAMES}(?:\s*,)?\s+(\d{{4}})(?:\D|$)"
    ))
    .expect("constant regex")
});
/// `13:54`, `8h30`, `08:30:15`, `8:30 SA` / `8:30 CH` (Vietnamese Windows locales' AM and PM),
/// `08:30 AM`.
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|\D)(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})(?::(\d{2}))?(?:\s*(SA|CH|AM|PM)\b)?(?:\D|$)",
    )
    .expect("constant regex")
});

/// Reads a date from text: the profile's own formats first, then the built-in forms
/// (`(13:54 | 08/07/2020)`, `08/07/2020 - 13:54`, `Thứ tư, 8/7/2020 13:54`, `Ngày đăng: 08/07/2020`,
/// `ngày 8 tháng 7 năm 2020`, `28 Tháng 12 2020 08:30`, WordPress's `Tháng Ba 15, 2021` and
/// `15 Tháng Mười Hai, 2021`, ISO `2020-07-08`, and RFC 3339 times as attributes hold them).
pub fn parse(text: &str, tz: chrono_tz::Tz, formats: &[DateFormat]) -> Option<Published> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    formats
        .iter()
        .find_map(|f| with_format(text, &f.0, tz))
        .or_else(|| {
            // `<time datetime>` and `article:published_time` carry their own offset, often UTC.
            DateTime::parse_from_rfc3339(text).ok().map(|at| Published {
                at,
                inferred: false,
            })
        })
        .or_else(|| recognise(text, tz))
        .map(|p| Published {
            at: in_zone(p.at, tz),
            ..p
        })
}

/// The same instant as the source's zone writes it: feeds and the archive give every time in
/// the portal's own offset, whatever offset the page wrote it with.
fn in_zone(at: DateTime<FixedOffset>, tz: chrono_tz::Tz) -> DateTime<FixedOffset> {
    at.with_timezone(&tz).fixed_offset()
}

fn with_format(text: &str, format: &str, tz: chrono_tz::Tz) -> Option<Published> {
    if let Ok(at) = DateTime::parse_from_str(text, format) {
        return Some(Published {
            at,
            inferred: false,
        });
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
        return local(naive, tz).map(|at| Published {
            at,
            inferred: false,
        });
    }
    let date = NaiveDate::parse_from_str(text, format).ok()?;
    local(date.and_time(NaiveTime::MIN), tz).map(|at| Published { at, inferred: true })
}

fn recognise(text: &str, tz: chrono_tz::Tz) -> Option<Published> {
    let number = |caps: &regex::Captures<'_>, i: usize| {
        caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok())
    };
    let month_name =
        |caps: &regex::Captures<'_>, i: usize| caps.get(i).and_then(|m| month_number(m.as_str()));
    let numbered = [
        (&*IN_WORDS, [1, 2, 3]),
        (&*DAY_MONTH_NUMBER, [1, 2, 3]),
        (&*DAY_FIRST, [1, 2, 3]),
        (&*YEAR_FIRST, [3, 2, 1]),
    ]
    .into_iter()
    .map(|(regex, order)| (regex, order, false));
    let named = [
        (&*NAMED_MONTH_FIRST, [2, 1, 3]),
        (&*NAMED_MONTH_SECOND, [1, 2, 3]),
    ]
    .into_iter()
    .map(|(regex, order)| (regex, order, true));
    let (date, span) = named
        .chain(numbered)
        .find_map(|(regex, [d, m, y], by_name)| {
            regex.captures_iter(text).find_map(|caps| {
                let month = if by_name {
                    month_name(&caps, m)?
                } else {
                    number(&caps, m)?
                };
                let date =
                    NaiveDate::from_ymd_opt(number(&caps, y)? as i32, month, number(&caps, d)?)?;
                Some((date, caps.get(0)?.range()))
            })
        })?;
    // Look for the time outside the date, so its digits are not read twice.
    let rest = format!("{} {}", &text[..span.start], &text[span.end..]);
    let time = TIME.captures_iter(&rest).find_map(|caps| {
        let hour = number(&caps, 1)?;
        let afternoon = caps
            .get(4)
            .map(|m| m.as_str().to_ascii_uppercase())
            .map(|m| m == "CH" || m == "PM");
        let hour = match afternoon {
            // A 12-hour clock: 12 SA is just after midnight, 12 CH noon.
            Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
            Some(_) => return None,
            None => hour,
        };
        NaiveTime::from_hms_opt(
            hour,
            number(&caps, 2)?,
            caps.get(3).map_or(Some(0), |_| number(&caps, 3))?,
        )
    });
    let at = local(date.and_time(time.unwrap_or(NaiveTime::MIN)), tz)?;
    Some(Published {
        at,
        inferred: time.is_none(),
    })
}

/// A Vietnamese month name's number (`Ba` 3, `Mười Hai` 12); `Giêng` and `Chạp` are the
/// customary names of the first and last.
fn month_number(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    let words: Vec<&str> = name.split_whitespace().collect();
    let number = match words.as_slice() {
        ["một"] | ["giêng"] => 1,
        ["hai"] => 2,
        ["ba"] => 3,
        ["tư"] | ["bốn"] => 4,
        ["năm"] => 5,
        ["sáu"] => 6,
        ["bảy"] => 7,
        ["tám"] => 8,
        ["chín"] => 9,
        ["mười"] => 10,
        ["mười", "một"] => 11,
        ["mười", "hai"] | ["chạp"] => 12,
        _ => return None,
    };
    Some(number)
}

/// A query bound: `YYYY-MM-DD` (the start of that day in `tz`, or when `end_of_day` its last
/// nanosecond: sort times keep fractions of a second, and a bound is inclusive) or an RFC 3339
/// time. The error says what was expected.
pub fn parse_bound(
    text: &str,
    tz: chrono_tz::Tz,
    end_of_day: bool,
) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("expected YYYY-MM-DD or an RFC 3339 time, got {text:?}"))?;
    let no_such = || format!("no such local time: {text:?}");
    if !end_of_day {
        return local(date.and_time(NaiveTime::MIN), tz).ok_or_else(no_such);
    }
    let next = date.succ_opt().ok_or_else(no_such)?;
    let next = local(next.and_time(NaiveTime::MIN), tz).ok_or_else(no_such)?;
    Ok(next - chrono::TimeDelta::nanoseconds(1))
}

/// A wall-clock time in the zone; the earlier instant when a DST change makes it ambiguous.
fn local(naive: NaiveDateTime, tz: chrono_tz::Tz) -> Option<DateTime<FixedOffset>> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

    fn at(text: &str) -> Option<(String, bool)> {
        parse(text, VN, &[]).map(|p| (p.at.to_rfc3339(), p.inferred))
    }

    #[test]
    fn every_built_in_form_is_day_first_in_the_sources_zone() {
        let full = Some(("2020-07-08T13:54:00+07:00".to_string(), false));
        assert_eq!(at("(13:54 | 08/07/2020)"), full);
        assert_eq!(at("08/07/2020 13:54"), full);
        assert_eq!(at("13:54 08/07/2020"), full);
        assert_eq!(at("08/07/2020 - 13:54"), full);
        assert_eq!(at("Thứ tư, 08/07/2020 13:54"), full);
        assert_eq!(at("Thứ tư, 8/7/2020 13:54"), full);
        let midnight = Some(("2020-07-08T00:00:00+07:00".to_string(), true));
        assert_eq!(at("Ngày đăng: 08/07/2020"), midnight);
        assert_eq!(at("ngày 8 tháng 7 năm 2020"), midnight);
        assert_eq!(at("Ngày 08 tháng 07 năm 2020"), midnight);
    }

    #[test]
    fn a_day_above_twelve_is_never_read_as_a_month() {
        assert_eq!(
            at("(07:45 | 25/06/2020)"),
            Some(("2020-06-25T07:45:00+07:00".to_string(), false))
        );
        assert_eq!(at("31/02/2020"), None);
    }

    #[test]
    fn month_words_as_portals_and_wordpress_write_them() {
        let full = Some(("2020-12-28T08:30:00+07:00".to_string(), false));
        assert_eq!(at("28 Tháng 12 2020 08:30"), full);
        assert_eq!(at("Thứ hai, 28 Tháng 12 2020 08:30"), full);
        assert_eq!(at("28 tháng 12, 2020 08:30"), full);
        let march = Some(("2021-03-15T00:00:00+07:00".to_string(), true));
        assert_eq!(at("Tháng Ba 15, 2021"), march);
        assert_eq!(at("15 Tháng Ba, 2021"), march);
        assert_eq!(
            at("Tháng Mười Hai 3, 2021"),
            Some(("2021-12-03T00:00:00+07:00".to_string(), true))
        );
        assert_eq!(
            at("Tháng Mười 3, 2021 lúc 9:05"),
            Some(("2021-10-03T09:05:00+07:00".to_string(), false))
        );
        assert_eq!(
            at("3 Tháng Mười Một, 2021"),
            Some(("2021-11-03T00:00:00+07:00".to_string(), true))
        );
    }

    #[test]
    fn an_rfc3339_time_is_given_in_the_source_zone() {
        assert_eq!(
            at("2021-03-15T01:30:00+00:00"),
            Some(("2021-03-15T08:30:00+07:00".to_string(), false))
        );
        assert_eq!(
            at("2021-04-12T02:40:00Z"),
            Some(("2021-04-12T09:40:00+07:00".to_string(), false))
        );
        let formats = [DateFormat("%Y-%m-%d %H:%M %z".into())];
        let p = parse("2021-03-15 08:30 +0200", VN, &formats).unwrap();
        assert_eq!(p.at.to_rfc3339(), "2021-03-15T13:30:00+07:00");
    }

    #[test]
    fn a_twelve_hour_clock_reads_sa_ch_am_pm() {
        assert_eq!(
            at("15/03/2021 8:30 CH"),
            Some(("2021-03-15T20:30:00+07:00".to_string(), false))
        );
        assert_eq!(
            at("Ngày đăng: 15/03/2021 8:30 SA"),
            Some(("2021-03-15T08:30:00+07:00".to_string(), false))
        );
        assert_eq!(
            at("Cập nhật: 12:05 AM 12/03/2018"),
            Some(("2018-03-12T00:05:00+07:00".to_string(), false))
        );
        assert_eq!(
            at("12/03/2018 12:05 PM"),
            Some(("2018-03-12T12:05:00+07:00".to_string(), false))
        );
    }

    #[test]
    fn no_date_is_none() {
        assert_eq!(at(""), None);
        assert_eq!(at("Tin Ban Quản lý"), None);
        assert_eq!(at("13:54"), None);
    }

    #[test]
    fn profile_formats_are_tried_first() {
        let formats = [DateFormat("%Y.%m.%d %H:%M".into())];
        let p = parse("2020.07.08 13:54", VN, &formats).unwrap();
        assert_eq!(p.at.to_rfc3339(), "2020-07-08T13:54:00+07:00");
        assert!(!p.inferred);
    }

    #[test]
    fn the_zone_comes_from_the_source() {
        let p = parse("08/07/2020 13:54", chrono_tz::Europe::Paris, &[]).unwrap();
        assert_eq!(p.at.to_rfc3339(), "2020-07-08T13:54:00+02:00");
    }
}
