//! Where the next page of results starts: an offset (best first) or the last (time, id)
//! (newest first), and the moment of the first page: what was indexed later is left out, so
//! articles stored meanwhile never shift a page. Best first, the cursor also names the snapshot
//! of the index the first page was read from: while the server keeps it, later pages rank with
//! the same statistics; once it is dropped, the moment alone applies.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::SearchError;

/// The most results a cursor may skip.
const MAX_OFFSET: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    /// Unix microseconds: documents indexed later are not read.
    pub watermark: i64,
    pub offset: usize,
    /// Newest first: the time and id of the last result given.
    pub newest: Option<(i64, String)>,
    /// Best first: the searcher generation of the first page.
    pub generation: Option<u64>,
}

impl SearchCursor {
    pub fn relevance(watermark: i64, offset: usize) -> SearchCursor {
        SearchCursor {
            watermark,
            offset,
            newest: None,
            generation: None,
        }
    }

    pub fn newest(watermark: i64, time: i64, id: String) -> SearchCursor {
        SearchCursor {
            watermark,
            offset: 0,
            newest: Some((time, id)),
            generation: None,
        }
    }

    /// The cursor as a URL-safe parameter value.
    pub fn encode(&self) -> String {
        let text = match &self.newest {
            None => match self.generation {
                Some(generation) => format!("r|{}|{}|{generation}", self.watermark, self.offset),
                None => format!("r|{}|{}", self.watermark, self.offset),
            },
            Some((time, id)) => format!("n|{}|{time}|{id}", self.watermark),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    /// The cursor [`SearchCursor::encode`] wrote.
    pub fn parse(text: &str) -> Result<SearchCursor, SearchError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| SearchError::Cursor)?;
        let text = String::from_utf8(bytes).map_err(|_| SearchError::Cursor)?;
        let mut parts = text.splitn(4, '|');
        let kind = parts.next();
        let watermark = parts
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or(SearchError::Cursor)?;
        match kind {
            Some("r") => {
                let offset: usize = parts
                    .next()
                    .and_then(|o| o.parse().ok())
                    .filter(|o| *o <= MAX_OFFSET)
                    .ok_or(SearchError::Cursor)?;
                let generation = match parts.next() {
                    None => None,
                    Some(g) => Some(g.parse().map_err(|_| SearchError::Cursor)?),
                };
                Ok(SearchCursor {
                    generation,
                    ..SearchCursor::relevance(watermark, offset)
                })
            }
            Some("n") => {
                let time = parts
                    .next()
                    .and_then(|t| t.parse().ok())
                    .ok_or(SearchError::Cursor)?;
                let id = parts.next().ok_or(SearchError::Cursor)?;
                Ok(SearchCursor::newest(watermark, time, id.to_string()))
            }
            _ => Err(SearchError::Cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back() {
        for cursor in [
            SearchCursor::relevance(17, 40),
            SearchCursor {
                generation: Some(3),
                ..SearchCursor::relevance(17, 40)
            },
            SearchCursor::newest(17, 1_594_190_040, "bqlkkt:12|x".into()),
        ] {
            assert_eq!(SearchCursor::parse(&cursor.encode()).unwrap(), cursor);
        }
        assert!(SearchCursor::parse("bm9wZQ").is_err());
        assert!(SearchCursor::parse(&URL_SAFE_NO_PAD.encode("r|1|999999999")).is_err());
    }
}
