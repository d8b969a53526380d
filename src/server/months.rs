//! Months of a source's zone, the one place feeds, the reader and the API take them from: the
//! `YYYY-MM` a URL names, the instants a month covers, and which months hold articles.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use super::ApiError;
use crate::archive::Archive;
use crate::config::Source;

/// The years a month in a URL may name: four digits, so a month always prints back as it was
/// written, none before the Unix epoch, which the archive's time index does not reach, and the
/// month after it always one chrono can name.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Months that have articles and have ended in the source's zone, oldest first: one index
/// seek a month, whatever the archive holds.
pub fn finished(archive: &dyn Archive, source: &Source) -> Result<Vec<NaiveDate>, ApiError> {
    let now = Utc::now().with_timezone(&source.tz());
    let current = first_of(now.year(), now.month());
    let mut months = with_articles(archive, source, current, usize::MAX)?;
    months.reverse();
    Ok(months)
}

/// Up to `most` months with articles that start before `before` (a first of the month), newest
/// first: one index seek a month.
pub fn with_articles(
    archive: &dyn Archive,
    source: &Source,
    before: NaiveDate,
    most: usize,
) -> Result<Vec<NaiveDate>, ApiError> {
    let tz = source.tz();
    let mut bound = start(tz, before);
    let mut months = Vec::new();
    while months.len() < most {
        let Some(newest) = archive.newest_before(source.id.as_str(), bound)? else {
            break;
        };
        let local = newest.with_timezone(&tz);
        let month = first_of(local.year(), local.month());
        months.push(month);
        bound = start(tz, month);
    }
    Ok(months)
}

/// The month a URL names: exactly `YYYY-MM`, a year 1970–9999 and a month 01–12, as its first
/// day. Anything else (`2020-1`, `-2020-01`, `0000-01`, `1969-12`, `+2020-01`) names no month.
pub fn parse(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.split_once('-')?;
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    if !YEARS.contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month.parse().ok()?, 1)
}

/// The instants of `month` in `tz`, as the archive's `Query` takes them (both ends included):
/// from the month's first instant to the last nanosecond before the next month's. Sort times
/// keep fractions of a second, so an article at 23:59:59.999999 on the last day falls in this
/// month and in no other.
pub fn bounds(
    tz: chrono_tz::Tz,
    month: NaiveDate,
) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
    (
        start(tz, month),
        start(tz, following(month)) - chrono::TimeDelta::nanoseconds(1),
    )
}

/// The first instant of `month` in `tz`.
pub fn start(tz: chrono_tz::Tz, month: NaiveDate) -> DateTime<FixedOffset> {
    let naive = month.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or_else(
        || Utc.from_utc_datetime(&naive).fixed_offset(),
        |t| t.fixed_offset(),
    )
}

/// The first of the month after `month`.
pub fn following(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month)
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VN: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

    #[test]
    fn a_month_in_a_url_is_exactly_yyyy_mm() {
        assert_eq!(parse("2020-07"), NaiveDate::from_ymd_opt(2020, 7, 1));
        assert_eq!(parse("1970-01"), NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(parse("9999-12"), NaiveDate::from_ymd_opt(9999, 12, 1));
        for text in [
            "-2020-01",
            "0000-01",
            "0999-12",
            "1969-12",
            "2020-1",
            "2020-001",
            "2020-00",
            "2020-13",
            "+2020-01",
            "20201-01",
            "2020-07-01",
            "2020_07",
            "2020-0a",
            "２０２０-07",
            "",
            "-",
            "2020-",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_months_bounds_reach_the_last_nanosecond_before_the_next() {
        let january = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let (since, until) = bounds(VN, january);
        assert_eq!(since.to_rfc3339(), "2024-01-01T00:00:00+07:00");
        assert_eq!(until.to_rfc3339(), "2024-01-31T23:59:59.999999999+07:00");
        let (february, _) = bounds(VN, following(january));
        assert_eq!(february - until, chrono::TimeDelta::nanoseconds(1));
    }
}
