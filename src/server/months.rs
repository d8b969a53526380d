//! Month arithmetic for RFC 5005 archives: which months have ended and hold articles, and where a
//! month starts in a source's zone.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use super::ApiError;
use crate::archive::Archive;
use crate::config::Source;

/// Months that have articles and have ended in the source's zone, oldest first: one index
/// seek a month, whatever the archive holds.
pub fn finished(archive: &dyn Archive, source: &Source) -> Result<Vec<NaiveDate>, ApiError> {
    let tz = source.tz();
    let now = Utc::now().with_timezone(&tz);
    let mut month = first_of(now.year(), now.month());
    let mut months = Vec::new();
    while let Some(newest) = archive.newest_before(source.id.as_str(), start(tz, month))? {
        let local = newest.with_timezone(&tz);
        month = first_of(local.year(), local.month());
        months.push(month);
    }
    months.reverse();
    Ok(months)
}

/// The month a `YYYY-MM` names, as its first day.
pub fn parse(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
}

/// The first instant of `month` in `tz`.
pub fn start(tz: chrono_tz::Tz, month: NaiveDate) -> DateTime<FixedOffset> {
    let naive = month.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or_else(
        || Utc.from_utc_datetime(&naive).fixed_offset(),
        |t| t.fixed_offset(),
    )
}

/// The first instant of the month after `month` in `tz`.
pub fn end(tz: chrono_tz::Tz, month: NaiveDate) -> DateTime<FixedOffset> {
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month);
    start(tz, next)
}

fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}
