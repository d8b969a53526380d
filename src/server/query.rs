//! Query strings: each route names the parameters it takes; an unknown or repeated one is a 400
//! naming it, so no two spellings of a request reach a handler (or a cache key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone, Utc};

use super::{ApiError, MAX_FEED_ITEMS};
use crate::archive::{Archive, Query as ArchiveQuery};
use crate::model::Archived;

/// The longest parameter name repeated back in an error.
const MAX_NAME_IN_ERROR: usize = 64;

/// The parameters of one request, each given at most once and each one the route takes.
#[derive(Debug, Default)]
pub struct Params {
    given: Vec<(&'static str, String)>,
}

impl Params {
    /// Parses `query` (percent-decoded, `+` as space) for a route that takes `allowed`.
    pub fn parse(query: Option<&str>, allowed: &[&'static str]) -> Result<Params, ApiError> {
        let mut given: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let Some(known) = allowed.iter().copied().find(|a| *a == name) else {
                let shown: String = name.chars().take(MAX_NAME_IN_ERROR).collect();
                let detail = if allowed.is_empty() {
                    "unknown parameter; this path takes none".to_string()
                } else {
                    format!("unknown parameter; this path takes {}", allowed.join(", "))
                };
                return Err(ApiError::bad(shown, detail));
            };
            if given.iter().any(|(n, _)| *n == known) {
                return Err(ApiError::bad(known, "given more than once"));
            }
            given.push((known, value.into_owned()));
        }
        Ok(Params { given })
    }

    /// The value of a parameter, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.given
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: a whole number from 1 to [`MAX_FEED_ITEMS`], `default` when absent.
    pub fn limit(&self, default: usize) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_FEED_ITEMS).contains(&n) => Ok(n),
                _ => Err(ApiError::bad(
                    "limit",
                    format!("expected a whole number from 1 to {MAX_FEED_ITEMS}, got {text:?}"),
                )),
            },
        }
    }
}

/// What a request is about: its `source` and `section` parameters checked against the config
/// (an empty value counts as absent, as a form sends it), and the zone its dates are read in:
/// the source's, else the first source's.
pub struct Scope<'a> {
    pub source: Option<&'a crate::config::Source>,
    pub section: Option<&'a str>,
    pub tz: chrono_tz::Tz,
}

impl<'a> Scope<'a> {
    pub fn of(state: &'a super::AppState, params: &'a Params) -> Result<Scope<'a>, ApiError> {
        let source = match params.get("source").filter(|s| !s.is_empty()) {
            Some(id) => Some(
                state
                    .config
                    .source(id)
                    .ok_or_else(|| ApiError::bad("source", format!("no source {id:?}")))?,
            ),
            None => None,
        };
        let section = params.get("section").filter(|s| !s.is_empty());
        if let Some(section) = section {
            let source = source.ok_or_else(|| ApiError::bad("section", "needs source"))?;
            if source.section(section).is_none() {
                return Err(ApiError::bad(
                    "section",
                    format!("source {} has no section {section:?}", source.id),
                ));
            }
        }
        let tz = source
            .or(state.config.sources.first())
            .map_or(chrono_tz::UTC, |s| s.tz());
        Ok(Scope {
            source,
            section,
            tz,
        })
    }
}

/// A keyset cursor: the position of the last article of a page, its time (seconds) and id. The
/// next page starts strictly after it in (time descending, id ascending) order, so articles
/// archived meanwhile never shift a page. `/api/articles?cursor=` and the JSON feeds'
/// `?before=` both use it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    time: i64,
    id: String,
}

impl Cursor {
    /// The position of `archived`.
    pub fn at(archived: &Archived) -> Cursor {
        Cursor {
            time: archived.sort_time().timestamp(),
            id: archived.article.id.0.clone(),
        }
    }

    /// The cursor a parameter gives; a 400 naming `param` when it is not one this server wrote.
    pub fn parse(param: &'static str, text: &str) -> Result<Cursor, ApiError> {
        let bad = || ApiError::bad(param, "not a cursor this server gave out");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (time, id) = text.split_once('|').ok_or_else(bad)?;
        let time = time.parse().map_err(|_| bad())?;
        Utc.timestamp_opt(time, 0)
            .single()
            .ok_or_else(|| ApiError::bad(param, "out of range"))?;
        Ok(Cursor {
            time,
            id: id.to_string(),
        })
    }

    /// The cursor as a URL-safe parameter value.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.time, self.id))
    }

    /// Bytes the cursor holds, for a cache's budget.
    pub fn bytes(&self) -> usize {
        self.id.len() + 8
    }

    fn admits(&self, archived: &Archived) -> bool {
        let time = archived.sort_time().timestamp();
        time < self.time || (time == self.time && archived.article.id.0 > self.id)
    }
}

/// Up to `limit` articles of `query` after `cursor` (newest first), and the cursor of the next
/// page when there are more. Reads only what it needs: the index orders by whole seconds, so it
/// reads a little beyond the page to skip the articles that share the cursor's second.
pub fn page(
    archive: &dyn Archive,
    mut query: ArchiveQuery,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<(Vec<Archived>, Option<Cursor>), ApiError> {
    if let Some(cursor) = cursor {
        let at = Utc
            .timestamp_opt(cursor.time, 999_999_999)
            .single()
            .ok_or_else(|| ApiError::bad("cursor", "out of range"))?
            .fixed_offset();
        query.until = Some(query.until.map_or(at, |u| u.min(at)));
    }
    let mut want = limit + 1 + 16;
    let mut kept = loop {
        query.limit = Some(want);
        let batch = archive.articles(&query)?;
        let full = batch.len() == want;
        let kept: Vec<Archived> = batch
            .into_iter()
            .filter(|a| cursor.is_none_or(|c| c.admits(a)))
            .take(limit + 1)
            .collect();
        if kept.len() > limit || !full {
            break kept;
        }
        want *= 4;
    };
    let next = if kept.len() > limit {
        kept.truncate(limit);
        kept.last().map(Cursor::at)
    } else {
        None
    };
    Ok((kept, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_of(err: ApiError) -> String {
        match err {
            ApiError::BadParameter { param, .. } => param,
            other => panic!("not a bad parameter: {other}"),
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let err = Params::parse(Some("limit=2&cb=7"), &["limit"]).unwrap_err();
        assert_eq!(param_of(err), "cb");
        let err = Params::parse(Some("limit=2&limit=3"), &["limit"]).unwrap_err();
        assert_eq!(param_of(err), "limit");
        let err = Params::parse(Some("x"), &[]).unwrap_err();
        assert_eq!(param_of(err), "x");
    }

    #[test]
    fn limit_is_decoded_and_bounded() {
        let params = Params::parse(Some("li%6Dit=7"), &["limit"]).unwrap();
        assert_eq!(params.limit(50).unwrap(), 7);
        assert_eq!(
            Params::parse(None, &["limit"]).unwrap().limit(50).unwrap(),
            50
        );
        assert_eq!(Params::parse(Some(""), &[]).unwrap().get("limit"), None);
        for bad in ["0", "501", "x", "", "-1"] {
            let params = Params::parse(Some(&format!("limit={bad}")), &["limit"]).unwrap();
            assert_eq!(param_of(params.limit(50).unwrap_err()), "limit", "{bad}");
        }
    }
}
