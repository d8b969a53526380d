//! Query strings: each route names the parameters it takes; an unknown or repeated one is a 400
//! naming it, so no two spellings of a request reach a handler (or a cache key).

use super::{ApiError, MAX_FEED_ITEMS};

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
