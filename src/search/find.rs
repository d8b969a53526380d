//! Finding: the query of a request with its filters, a page best first or newest first, and
//! each result read back from the archive with its snippet.

use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Term};

use super::{Found, Hit, Request, SearchCursor, SearchError, SearchIndex, query, snippet};
use crate::archive::Archive;
use crate::model::ArticleId;

impl SearchIndex {
    /// The articles matching `request`, read from `archive`.
    pub fn search(&self, archive: &dyn Archive, request: &Request) -> Result<Found, SearchError> {
        let clauses = query::parse(&request.text)?;
        // Best first, the next pages read the snapshot the first was read from, while it is
        // kept: the same documents and the same statistics, so no page shifts.
        let searcher = request
            .cursor
            .as_ref()
            .and_then(|c| c.generation)
            .and_then(|g| {
                self.pinned
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&g)
                    .cloned()
            })
            .unwrap_or_else(|| self.reader.searcher());
        let watermark = request
            .cursor
            .as_ref()
            .map_or_else(|| chrono::Utc::now().timestamp_micros(), |c| c.watermark);
        let matching = query::build(&self.fields, &clauses, request.ranking);
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, matching.box_clone())];
        let term = |field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(source) = &request.source {
            parts.push((Occur::Must, term(self.fields.source, source)));
        }
        if let Some(section) = &request.section {
            parts.push((Occur::Must, term(self.fields.section, section)));
        }
        let mut until = request.until.map(|t| t.timestamp());
        if let Some(SearchCursor {
            newest: Some((time, _)),
            ..
        }) = &request.cursor
        {
            until = Some(until.map_or(*time, |u| u.min(*time)));
        }
        let i64_term = |field, value| Term::from_field_i64(field, value);
        if request.since.is_some() || until.is_some() {
            let lower = request.since.map_or(Bound::Unbounded, |t| {
                Bound::Included(i64_term(self.fields.time, t.timestamp()))
            });
            let upper = until.map_or(Bound::Unbounded, |t| {
                Bound::Included(i64_term(self.fields.time, t))
            });
            parts.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        parts.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(i64_term(self.fields.indexed, watermark)),
            )),
        ));
        let whole = BooleanQuery::new(parts);
        let limit = request.limit.max(1);
        let (picked, next) = if request.newest_first {
            self.newest(&searcher, &whole, request.cursor.as_ref(), limit, watermark)?
        } else {
            let offset = request.cursor.as_ref().map_or(0, |c| c.offset);
            let top = searcher
                .search(&whole, &TopDocs::with_limit(limit + 1).and_offset(offset))
                .map_err(|e| self.failed(e))?;
            let more = top.len() > limit;
            let picked: Vec<DocAddress> = top.into_iter().take(limit).map(|(_, a)| a).collect();
            let next = more.then(|| {
                let generation = searcher.generation().generation_id();
                self.pinned
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .put(generation, searcher.clone());
                SearchCursor {
                    generation: Some(generation),
                    ..SearchCursor::relevance(watermark, offset + limit)
                }
            });
            (picked, next)
        };
        let scores = self.scores(&searcher, &whole, &picked)?;
        let mut hits = Vec::with_capacity(picked.len());
        for address in picked {
            let score = scores
                .iter()
                .find(|(_, a)| *a == address)
                .map_or(0.0, |(s, _)| *s);
            let id = self.id_of(&searcher, address)?;
            // The archive is the truth: an id it no longer answers for, or whose record is
            // damaged, is skipped.
            if let Some(archived) = archive.readable_article(&id)? {
                let snippet = snippet::snippet(&archived.article, &clauses);
                hits.push(Hit {
                    archived,
                    score,
                    snippet,
                });
            }
        }
        Ok(Found { hits, next })
    }

    /// The scores of `picked` for `query`: the query again, narrowed to their ids (weighing
    /// nothing), since a page ordered by time has none.
    fn scores(
        &self,
        searcher: &tantivy::Searcher,
        query: &BooleanQuery,
        picked: &[DocAddress],
    ) -> Result<Vec<(f32, DocAddress)>, SearchError> {
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let mut terms = Vec::with_capacity(picked.len());
        for address in picked {
            terms.push(Term::from_field_text(
                self.fields.id,
                &self.id_of(searcher, *address)?.0,
            ));
        }
        let narrowed = BooleanQuery::new(vec![
            (Occur::Must, Box::new(query.clone()) as Box<dyn Query>),
            (
                Occur::Must,
                Box::new(BoostQuery::new(Box::new(TermSetQuery::new(terms)), 0.0)),
            ),
        ]);
        searcher
            .search(&narrowed, &TopDocs::with_limit(picked.len()))
            .map_err(|e| self.failed(e))
    }

    fn id_of(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> Result<ArticleId, SearchError> {
        let doc: tantivy::TantivyDocument = searcher.doc(address).map_err(|e| self.failed(e))?;
        Ok(ArticleId(
            doc.get_first(self.fields.id)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
        ))
    }

    /// A page newest first, after the cursor's (time, id) in (time descending, id ascending)
    /// order: reads a little beyond the page, more when many articles share a second.
    fn newest(
        &self,
        searcher: &tantivy::Searcher,
        query: &BooleanQuery,
        cursor: Option<&SearchCursor>,
        limit: usize,
        watermark: i64,
    ) -> Result<(Vec<DocAddress>, Option<SearchCursor>), SearchError> {
        let after = cursor.and_then(|c| c.newest.clone());
        let mut want = limit + 1 + 16;
        loop {
            let top: Vec<(i64, DocAddress)> = searcher
                .search(
                    query,
                    &TopDocs::with_limit(want).order_by_fast_field::<i64>("time", Order::Desc),
                )
                .map_err(|e| self.failed(e))?;
            let full = top.len() == want;
            let oldest = top.last().map(|(t, _)| *t);
            let mut rows = Vec::with_capacity(top.len());
            for (time, address) in top {
                // The oldest second of a full batch may be cut: it is read in the next round.
                if full && Some(time) == oldest {
                    continue;
                }
                let id = self.id_of(searcher, address)?;
                let admitted = after
                    .as_ref()
                    .is_none_or(|(t, i)| time < *t || (time == *t && id.0 > *i));
                if admitted {
                    rows.push((time, id.0, address));
                }
            }
            if full && rows.len() <= limit {
                want *= 4;
                continue;
            }
            rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let more = rows.len() > limit;
            rows.truncate(limit);
            let next = if more {
                rows.last()
                    .map(|(t, id, _)| SearchCursor::newest(watermark, *t, id.clone()))
            } else {
                None
            };
            return Ok((rows.into_iter().map(|(_, _, a)| a).collect(), next));
        }
    }
}
