//! Typed config values that validate themselves while the TOML is read, so a bad value is
//! reported with the line it stands on.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// An identifier used in URLs and article ids: `[a-z0-9-]+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Slug(String);

impl Slug {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let valid = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Slug(value))
        } else {
            Err(format!(
                "expected an id of lowercase letters, digits and '-' ([a-z0-9-]+), got {value:?}"
            ))
        }
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CSS selector, compiled when the config is read, optionally ending in `@name`: the field is
/// then read from that attribute of the match (`time@datetime`, `meta[property="article:published_time"]@content`)
/// instead of its text.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Css {
    text: String,
    selector: scraper::Selector,
    attribute: Option<String>,
}

impl Css {
    pub fn selector(&self) -> &scraper::Selector {
        &self.selector
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The attribute the value is read from (`@datetime`), when the selector names one.
    pub fn attribute(&self) -> Option<&str> {
        self.attribute.as_deref()
    }
}

/// Splits a trailing `@name` off a selector; an `@` inside brackets or quotes is the selector's.
fn attribute_suffix(text: &str) -> (&str, Option<&str>) {
    let Some(at) = text.rfind('@') else {
        return (text, None);
    };
    let name = &text[at + 1..];
    let is_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
    if is_name {
        (text[..at].trim_end(), Some(name))
    } else {
        (text, None)
    }
}

impl TryFrom<String> for Css {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let (css, attribute) = attribute_suffix(&text);
        if attribute.is_some() && css.is_empty() {
            return Err(format!(
                "invalid CSS selector {text:?}: expected a selector before the @attribute"
            ));
        }
        match scraper::Selector::parse(css) {
            Ok(selector) => Ok(Css {
                attribute: attribute.map(|a| a.to_ascii_lowercase()),
                text,
                selector,
            }),
            Err(err) => Err(format!("invalid CSS selector {text:?}: {err}")),
        }
    }
}

impl fmt::Display for Css {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A regular expression whose first group is an article's id within a query value
/// (`^(\d+)` reads `1452` from Joomla's `1452:ten-bai-viet`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct IdPattern(pub regex::Regex);

impl TryFrom<String> for IdPattern {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let regex = regex::Regex::new(&value)
            .map_err(|err| format!("invalid regular expression {value:?}: {err}"))?;
        if regex.captures_len() < 2 {
            return Err(format!(
                "expected a regular expression with a group for the id, such as \"^(\\d+)\", got {value:?}"
            ));
        }
        Ok(IdPattern(regex))
    }
}

impl IdPattern {
    /// The id within `value`: the first group of the first match; `None` when it does not match.
    pub fn id_in<'v>(&self, value: &'v str) -> Option<&'v str> {
        self.0
            .captures(value)
            .and_then(|caps| caps.get(1))
            .map(|m| m.as_str())
            .filter(|id| !id.is_empty())
    }
}

/// An IANA time zone such as `Asia/Ho_Chi_Minh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        chrono_tz::Tz::from_str(&value).map(TimeZone).map_err(|_| {
            format!("expected an IANA time zone such as \"Asia/Ho_Chi_Minh\", got {value:?}")
        })
    }
}

/// A cron expression with a seconds field first (6 or 7 fields).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Schedule {
    text: String,
    schedule: cron::Schedule,
}

impl Schedule {
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn cron(&self) -> &cron::Schedule {
        &self.schedule
    }
}

impl TryFrom<String> for Schedule {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let fields = text.split_whitespace().count();
        if fields == 5 {
            return Err(format!(
                "expected 6 fields (sec min hour day month weekday), got 5: this looks like a crontab \
                 line; write \"0 {}\" to run at second 0 (note: weekdays count from 1 = Sunday here, \
                 names such as Mon-Fri are safer)",
                text.trim()
            ));
        }
        if !(6..=7).contains(&fields) {
            return Err(format!(
                "expected 6 fields (sec min hour day month weekday) and an optional year, got {fields}"
            ));
        }
        match cron::Schedule::from_str(&text) {
            Ok(schedule) => Ok(Schedule { text, schedule }),
            Err(err) => Err(match bad_cron_field(&text) {
                Some((field, value)) => format!(
                    "invalid cron expression {text:?}: the {} field {value:?} is out of bounds: \
                     expected {}",
                    field.name, field.bounds
                ),
                // The cron crate's message spans lines; keep its last one.
                None => format!(
                    "invalid cron expression {text:?}: {}",
                    err.to_string().lines().last().unwrap_or_default().trim()
                ),
            }),
        }
    }
}

/// One field of the cron expression and the values the `cron` crate accepts in it.
struct CronField {
    name: &'static str,
    bounds: &'static str,
}

/// The fields in order: seconds first, the year optional.
const CRON_FIELDS: [CronField; 7] = [
    CronField {
        name: "seconds",
        bounds: "0-59",
    },
    CronField {
        name: "minutes",
        bounds: "0-59",
    },
    CronField {
        name: "hours",
        bounds: "0-23",
    },
    CronField {
        name: "day of month",
        bounds: "1-31",
    },
    CronField {
        name: "month",
        bounds: "1-12 or Jan-Dec",
    },
    CronField {
        name: "day of week",
        bounds: "1-7 (1 = Sunday) or Sun-Sat",
    },
    CronField {
        name: "year",
        bounds: "1970-2100",
    },
];

/// The first field that the cron crate refuses on its own (every other field `*`), and its text.
fn bad_cron_field(text: &str) -> Option<(&'static CronField, &str)> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields.iter().enumerate().find_map(|(i, value)| {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| if j == i { *value } else { "*" })
            .collect();
        cron::Schedule::from_str(&alone.join(" "))
            .is_err()
            .then(|| (&CRON_FIELDS[i], *value))
    })
}

/// An absolute http or https URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HttpUrl(pub url::Url);

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let url = url::Url::parse(&value)
            .map_err(|err| format!("expected an absolute http(s) URL, got {value:?}: {err}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("expected an absolute http(s) URL, got {value:?}"));
        }
        Ok(HttpUrl(url))
    }
}

/// A chrono format string, checked when the config is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct DateFormat(pub String);

impl TryFrom<String> for DateFormat {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match chrono::format::StrftimeItems::new(&value).parse() {
            Ok(_) => Ok(DateFormat(value)),
            Err(_) => Err(format!("invalid chrono date format {value:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_attribute_is_split_off_the_selector() {
        let css = Css::try_from("time.entry-date@datetime".to_string()).unwrap();
        assert_eq!(css.attribute(), Some("datetime"));
        let css = Css::try_from(r#"meta[property="article:published_time"]@content"#.to_string())
            .unwrap();
        assert_eq!(css.attribute(), Some("content"));
        // An @ inside an attribute value belongs to the selector.
        let css = Css::try_from(r#"a[href$="@x"]"#.to_string()).unwrap();
        assert_eq!(css.attribute(), None);
        assert!(Css::try_from("@content".to_string()).is_err());
    }

    #[test]
    fn an_id_pattern_needs_a_group() {
        assert!(IdPattern::try_from(r"^\d+".to_string()).is_err());
        let pattern = IdPattern::try_from(r"^(\d+)".to_string()).unwrap();
        assert_eq!(pattern.id_in("1452:ten-bai-viet"), Some("1452"));
        assert_eq!(pattern.id_in("1452"), Some("1452"));
        assert_eq!(pattern.id_in("ten-bai"), None);
    }
}
