//! The fields of the search index. Each text is indexed twice: as written (tones kept) and folded;
//! and its neighbouring syllables as pairs, the title's in fields of their own and the other
//! texts' together, both ways too.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::analysis::{EXACT, FOLDED, PAIRS_EXACT, PAIRS_FOLDED};
use crate::model::Archived;

/// Bumped whenever the fields or the analysis change: an index of another version is rebuilt.
pub const VERSION: &str = "gazette-search 2";

/// One text of an article, in its two fields.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub exact: Field,
    pub folded: Field,
    pub title: bool,
}

/// The syllable pairs of the title, or of the other texts, in their two fields.
#[derive(Debug, Clone, Copy)]
pub struct Pairs {
    pub exact: Field,
    pub folded: Field,
    pub title: bool,
}

/// The schema's fields, by name.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    pub id: Field,
    pub source: Field,
    pub section: Field,
    /// The article's sort time (published, else first seen), Unix seconds.
    pub time: Field,
    /// When the document was written, Unix microseconds: a cursor ignores later ones.
    pub indexed: Field,
    pub hash: Field,
    texts: [Text; 4],
    pairs: [Pairs; 2],
}

impl Fields {
    pub fn new() -> Fields {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING | STORED);
        let source = builder.add_text_field("source", STRING);
        let section = builder.add_text_field("section", STRING);
        let time = builder.add_i64_field("time", INDEXED | FAST | STORED);
        let indexed = builder.add_i64_field("indexed", INDEXED | FAST);
        let hash = builder.add_text_field("hash", STORED);
        let options = |tokenizer: &str, record: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(record),
            )
        };
        let mut text = |name: &str, title: bool| {
            let positions = IndexRecordOption::WithFreqsAndPositions;
            Text {
                exact: builder.add_text_field(&format!("{name}_exact"), options(EXACT, positions)),
                folded: builder
                    .add_text_field(&format!("{name}_folded"), options(FOLDED, positions)),
                title,
            }
        };
        let texts = [
            text("title", true),
            text("summary", false),
            text("body", false),
            text("more", false),
        ];
        // A pair is looked up as a term: no positions to keep.
        let mut pairs = |name: &str, title: bool| {
            let freqs = IndexRecordOption::WithFreqs;
            Pairs {
                exact: builder
                    .add_text_field(&format!("{name}_pairs_exact"), options(PAIRS_EXACT, freqs)),
                folded: builder.add_text_field(
                    &format!("{name}_pairs_folded"),
                    options(PAIRS_FOLDED, freqs),
                ),
                title,
            }
        };
        let pairs = [pairs("title", true), pairs("text", false)];
        Fields {
            schema: builder.build(),
            id,
            source,
            section,
            time,
            indexed,
            hash,
            texts,
            pairs,
        }
    }

    /// The texts: title, summary, body, and the rest (captions, category, credit).
    pub fn texts(&self) -> &[Text] {
        &self.texts
    }

    /// The syllable pairs: the title's, and those of the other texts together.
    pub fn pairs(&self) -> &[Pairs] {
        &self.pairs
    }

    /// The document of an archived article, written at `indexed` (Unix microseconds).
    pub fn document(&self, archived: &Archived, indexed: i64) -> TantivyDocument {
        let article = &archived.article;
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, &article.id.0);
        doc.add_text(self.source, &article.source);
        doc.add_text(self.section, &article.section);
        doc.add_i64(self.time, archived.sort_time().timestamp());
        doc.add_i64(self.indexed, indexed);
        doc.add_text(self.hash, &article.content_hash);
        let captions: Vec<&str> = article
            .images
            .iter()
            .filter_map(|i| i.caption.as_deref())
            .collect();
        let more = [
            captions.join("\n"),
            article.category.clone().unwrap_or_default(),
            article.credit.clone().unwrap_or_default(),
        ]
        .join("\n");
        let values = [
            article.title.as_str(),
            article.summary.as_str(),
            article.body_text.as_str(),
            more.as_str(),
        ];
        for (text, value) in self.texts.iter().zip(values) {
            doc.add_text(text.exact, value);
            doc.add_text(text.folded, value);
            // Each value is analysed on its own: no pair spans the end of one text and the
            // start of the next.
            let pairs = if text.title {
                &self.pairs[0]
            } else {
                &self.pairs[1]
            };
            doc.add_text(pairs.exact, value);
            doc.add_text(pairs.folded, value);
        }
        doc
    }
}

impl Default for Fields {
    fn default() -> Fields {
        Fields::new()
    }
}
