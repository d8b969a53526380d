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
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|\D)(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})(?::(\d{2}))?(?:\D|$)")
        .expect("constant regex")
});

/// Reads a date from text: the profile's own formats first, then the built-in forms
/// (`(13:54 | 08/07/2020)`, `08/07/2020 - 13:54`, `Thứ tư, 8/7/2020 13:54`, `Ngày đăng: 08/07/2020`,
/// `ngày 8 tháng 7 năm 2020`, ISO `2020-07-08`).
pub fn parse(text: &str, tz: chrono_tz::Tz, formats: &[DateFormat]) -> Option<Published> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    formats
        .iter()
        .find_map(|f| with_format(text, &f.0, tz))
        .or_else(|| recognise(text, tz))
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
    let (date, span) = [
        (&*IN_WORDS, [1, 2, 3]),
        (&*DAY_FIRST, [1, 2, 3]),
        (&*YEAR_FIRST, [3, 2, 1]),
    ]
    .into_iter()
    .find_map(|(regex, [d, m, y])| {
        regex.captures_iter(text).find_map(|caps| {
            let date = NaiveDate::from_ymd_opt(
                number(&caps, y)? as i32,
                number(&caps, m)?,
                number(&caps, d)?,
            )?;
            Some((date, caps.get(0)?.range()))
        })
    })?;
    // Look for the time outside the date, so its digits are not read twice.
    let rest = format!("{} {}", &text[..span.start], &text[span.end..]);
    let time = TIME.captures_iter(&rest).find_map(|caps| {
        NaiveTime::from_hms_opt(
            number(&caps, 1)?,
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

/// A query bound: `YYYY-MM-DD` (the start of that day in `tz`, or its last second when
/// `end_of_day`) or an RFC 3339 time. The error says what was expected.
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
    let time = if end_of_day {
        NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN)
    } else {
        NaiveTime::MIN
    };
    local(date.and_time(time), tz).ok_or_else(|| format!("no such local time: {text:?}"))
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
