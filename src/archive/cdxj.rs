//! The CDXJ index of one WARC file, as pywb and other wayback tools read it beside the file: a
//! line per capture, `<SURT key> <14-digit timestamp> {json}`, sorted bytewise, so the records of
//! a file in the object store are found without reading it whole.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use super::warc::{self, ParsedRecord, RecordType, WarcError};

/// The JSON of one line, its fields in the order pywb writes them.
#[derive(Serialize)]
struct Fields<'a> {
    url: &'a str,
    mime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    length: String,
    offset: String,
    filename: &'a str,
}

/// The CDXJ lines of the file `name` in `dir`: one per response, revisit, resource and metadata
/// record, sorted bytewise, each ending in a newline.
pub fn index(dir: &Path, name: &str) -> Result<String, WarcError> {
    let mut lines = lines_from(dir, name, 0)?;
    lines.sort_unstable();
    Ok(lines.concat())
}

/// The name of the CDXJ index kept beside the WARC file `name` (and beside it in the bucket):
/// `<name>.cdxj`, which pywb reads from a directory given as a collection's `index_paths`.
pub fn file_name(name: &str) -> String {
    format!("{name}.cdxj")
}

/// Brings the CDXJ index beside the WARC file `name` of `dir` up to date: the lines it has
/// already, and those of the records appended since the last record it names, sorted and
/// written whole through a temporary file and a rename (pywb reads it at any moment). Only the
/// new end of the file is read.
pub fn update_beside(dir: &Path, name: &str) -> Result<(), WarcError> {
    let path = dir.join(file_name(name));
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(WarcError::io("read", &path)(e)),
    };
    let mut lines: Vec<String> = old.lines().map(|line| format!("{line}\n")).collect();
    // Where the last record the index names ends; a line that does not read means the index
    // is not gazette's own, and it is made again from the start.
    let ends: Option<Vec<u64>> = lines.iter().map(|line| record_end(line)).collect();
    let from = match ends {
        Some(ends) => ends.into_iter().max().unwrap_or(0),
        None => {
            lines.clear();
            0
        }
    };
    let new = lines_from(dir, name, from)?;
    if new.is_empty() && !old.is_empty() {
        return Ok(());
    }
    lines.extend(new);
    write_beside(dir, name, lines)
}

/// Where the record a line names ends in its file.
fn record_end(line: &str) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_str(line.splitn(3, ' ').nth(2)?).ok()?;
    let number = |field: &str| json.get(field)?.as_str()?.parse::<u64>().ok();
    Some(number("offset")? + number("length")?)
}

/// The CDXJ lines of the records of `name` from `offset` on, in file order.
fn lines_from(dir: &Path, name: &str, offset: u64) -> Result<Vec<String>, WarcError> {
    let mut lines = Vec::new();
    for item in warc::scan_file_from(dir, name, offset) {
        let (at, record) = item?;
        lines.extend(line(&record, &at.file, at.offset, at.length));
    }
    Ok(lines)
}

/// The CDXJ line of `record`, stored as the member of `length` bytes at `offset` of the file
/// `filename`, ending in a newline; `None` for the records wayback tools do not look up
/// (warcinfo, request) and those without a target URI.
pub fn line(record: &ParsedRecord, filename: &str, offset: u64, length: u64) -> Option<String> {
    let kind = record.kind();
    if !matches!(
        kind,
        RecordType::Response | RecordType::Revisit | RecordType::Resource | RecordType::Metadata
    ) {
        return None;
    }
    let url = record.target_uri()?;
    let http = record.http();
    let mime = match (kind, http) {
        (RecordType::Revisit, _) => "warc/revisit".to_string(),
        (RecordType::Response, Some(http)) => http
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| crate::fetch::media_type(value))
            .unwrap_or_else(|| "unk".to_string()),
        _ => record
            .header("Content-Type")
            .map(crate::fetch::media_type)
            .unwrap_or_else(|| "unk".to_string()),
    };
    let fields = Fields {
        url,
        mime,
        status: http.and_then(|h| h.status).map(|s| s.to_string()),
        digest: record
            .header("WARC-Payload-Digest")
            .or_else(|| record.header("WARC-Block-Digest")),
        length: length.to_string(),
        offset: offset.to_string(),
        filename,
    };
    let timestamp = record
        .date()
        .with_timezone(&chrono::Utc)
        .format("%Y%m%d%H%M%S");
    // serde_json writes a struct of strings without fail.
    let json = serde_json::to_string(&fields).unwrap_or_default();
    Some(format!("{} {timestamp} {json}\n", surt(url)))
}

/// Writes the CDXJ index beside the WARC file `name` of `dir` whole, from its `lines` (in any
/// order), through a temporary file and a rename: pywb may read it at any moment.
pub fn write_beside(dir: &Path, name: &str, mut lines: Vec<String>) -> Result<(), WarcError> {
    lines.sort_unstable();
    lines.dedup();
    let path = dir.join(file_name(name));
    let partial = dir.join(format!(".{}.partial", file_name(name)));
    std::fs::write(&partial, lines.concat())
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            WarcError::io("write", &path)(e)
        })
}

/// The CDXJ lines of every WARC file of `dir` as one index, sorted bytewise, written to `out`;
/// `work` is a directory (made and removed here) for the sorted runs of an index too large to
/// sort in memory. Returns how many lines were written.
pub fn index_all(dir: &Path, work: &Path, out: &mut dyn Write) -> Result<usize, CdxjError> {
    let mut sorter = Sorter::new(work);
    for name in warc::files(dir)? {
        for item in warc::scan_file(dir, &name) {
            let (at, record) = item?;
            if let Some(line) = line(&record, &name, at.offset, at.length) {
                sorter.push(line)?;
            }
        }
    }
    sorter.finish(out)
}

/// Bytes of lines [`Sorter`] holds in memory before it writes them, sorted, to a run file.
pub const SORT_BUDGET: usize = 64 << 20;

/// CDXJ lines sorted in bounded memory: held up to [`SORT_BUDGET`] bytes, then written sorted to
/// a run file in a work directory; the runs are merged at the end. The work directory is made
/// when the first run is written and removed with the sorter.
pub struct Sorter {
    work: PathBuf,
    budget: usize,
    held: Vec<String>,
    held_bytes: usize,
    runs: Vec<PathBuf>,
}

impl Sorter {
    /// A sorter whose runs go to `work`, a directory it makes, owns and removes.
    pub fn new(work: &Path) -> Sorter {
        Sorter::with_budget(work, SORT_BUDGET)
    }

    fn with_budget(work: &Path, budget: usize) -> Sorter {
        Sorter {
            work: work.to_path_buf(),
            budget,
            held: Vec::new(),
            held_bytes: 0,
            runs: Vec::new(),
        }
    }

    /// Adds one line, ending in a newline.
    pub fn push(&mut self, line: String) -> Result<(), CdxjError> {
        self.held_bytes += line.len();
        self.held.push(line);
        if self.held_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), CdxjError> {
        if self.runs.is_empty() {
            std::fs::create_dir(&self.work).map_err(CdxjError::work("create", &self.work))?;
        }
        let path = self.work.join(format!("run-{}.cdxj", self.runs.len()));
        // Pushed before it is written, so that a failed write is removed with the rest.
        self.runs.push(path.clone());
        self.held.sort_unstable();
        let file = File::create(&path).map_err(CdxjError::work("create", &path))?;
        let mut writer = BufWriter::new(file);
        for line in self.held.drain(..) {
            writer
                .write_all(line.as_bytes())
                .map_err(CdxjError::work("write", &path))?;
        }
        writer.flush().map_err(CdxjError::work("write", &path))?;
        self.held_bytes = 0;
        Ok(())
    }

    /// Writes every line pushed, sorted, to `out`; returns how many.
    pub fn finish(mut self, out: &mut dyn Write) -> Result<usize, CdxjError> {
        if self.runs.is_empty() {
            self.held.sort_unstable();
            for line in &self.held {
                out.write_all(line.as_bytes()).map_err(CdxjError::Output)?;
            }
            return Ok(self.held.len());
        }
        if !self.held.is_empty() {
            self.spill()?;
        }
        let mut readers = Vec::with_capacity(self.runs.len());
        for path in &self.runs {
            let file = File::open(path).map_err(CdxjError::work("open", path))?;
            readers.push((BufReader::new(file), path));
        }
        // The smallest next line of each run; runs are few (one per SORT_BUDGET bytes).
        let mut next: BinaryHeap<Reverse<(String, usize)>> = BinaryHeap::new();
        let read = |readers: &mut Vec<(BufReader<File>, &PathBuf)>, run: usize| {
            let (reader, path) = &mut readers[run];
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(line)),
                Err(source) => Err(CdxjError::work("read", path)(source)),
            }
        };
        for run in 0..readers.len() {
            if let Some(line) = read(&mut readers, run)? {
                next.push(Reverse((line, run)));
            }
        }
        let mut count = 0;
        while let Some(Reverse((line, run))) = next.pop() {
            out.write_all(line.as_bytes()).map_err(CdxjError::Output)?;
            count += 1;
            if let Some(line) = read(&mut readers, run)? {
                next.push(Reverse((line, run)));
            }
        }
        Ok(count)
    }
}

impl Drop for Sorter {
    fn drop(&mut self) {
        if !self.runs.is_empty() {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// Why an index could not be written.
#[derive(Debug, Error)]
pub enum CdxjError {
    #[error(transparent)]
    Warc(#[from] WarcError),
    /// The work directory of a sort.
    #[error("cannot {action} {}", path.display())]
    Work {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the index")]
    Output(#[source] io::Error),
}

impl CdxjError {
    fn work(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CdxjError {
        let path = path.to_path_buf();
        move |source| CdxjError::Work {
            action,
            path,
            source,
        }
    }
}

/// The SURT form of a URL (`http://www.example.com/a?b=1` → `com,example)/a?b=1`), the key
/// wayback tools sort and look up captures by; a URL it cannot read is kept as it is.
pub fn surt(url: &str) -> String {
    surt_rs::generate_surt(url).unwrap_or_else(|_| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::warc::{Location, Record, WarcWriter};
    use crate::model::Capture;

    #[test]
    fn urls_get_their_surt_keys() {
        assert_eq!(surt("http://www.Example.com/"), "com,example)/");
        assert_eq!(
            surt("https://news.example.org/Politics/a-1.html?b=2&a=1"),
            "org,example,news)/politics/a-1.html?a=1&b=2"
        );
        assert_eq!(surt("http://example.com:8080/x"), "com,example:8080)/x");
    }

    #[test]
    fn lines_are_sorted_and_point_at_their_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = WarcWriter::open(dir.path(), 1 << 20).unwrap();
        let date = chrono::DateTime::parse_from_rfc3339("2026-01-27T10:30:00+01:00").unwrap();
        let mut written: Vec<Location> = Vec::new();
        for url in ["https://portal.test/b", "https://portal.test/a"] {
            let capture = Capture {
                url: url.to_string(),
                status: 200,
                headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
                body: format!("<p>{url}</p>").into_bytes(),
            };
            let response = Record::response(&capture, date);
            let urn = format!("urn:gazette:article:t:{}:1", &url[url.len() - 1..]);
            let note = Record::note(b"{}".to_vec(), Some(response.id()), &urn, date)
                .concurrent_to(response.id());
            written.extend(writer.append(&[response, note]).unwrap());
        }
        writer.sync().unwrap();
        let name = writer.current_file().to_string();
        let text = index(dir.path(), &name).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        assert_eq!(lines, sorted);
        assert!(
            lines[0]
                .starts_with("test,portal)/a 20260127093000 {\"url\":\"https://portal.test/a\""),
            "{}",
            lines[0]
        );
        let mut found = Vec::new();
        for line in &lines {
            let json: serde_json::Value =
                serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
            assert_eq!(json["filename"], name.as_str());
            let at = Location {
                file: name.clone(),
                offset: json["offset"].as_str().unwrap().parse().unwrap(),
                length: json["length"].as_str().unwrap().parse().unwrap(),
            };
            let record = warc::read(dir.path(), &at).unwrap();
            assert_eq!(record.target_uri(), json["url"].as_str());
            // Only the page is filed under the page's key; its note under a URN of its own.
            let key = line.split(' ').next().unwrap();
            assert_eq!(
                key.starts_with("test,portal)/"),
                record.kind() == &RecordType::Response
            );
            if record.kind() == &RecordType::Response {
                assert_eq!(json["mime"], "text/html");
                assert_eq!(json["status"], "200");
                assert!(json["digest"].as_str().unwrap().starts_with("sha1:"));
            }
            found.push(at);
        }
        found.sort_by_key(|at| at.offset);
        assert_eq!(found, written);
    }

    #[test]
    fn a_sort_past_its_budget_merges_its_runs_and_leaves_no_work_behind() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        // Ten bytes a run: many runs, each a few lines.
        let mut sorter = Sorter::with_budget(&work, 10);
        let mut lines: Vec<String> = (0..50)
            .map(|n| format!("com,example)/{} 2026 {{}}\n", (n * 37) % 50))
            .collect();
        for line in &lines {
            sorter.push(line.clone()).unwrap();
        }
        assert!(sorter.runs.len() > 1, "{} runs", sorter.runs.len());
        assert!(work.is_dir());
        let mut out = Vec::new();
        assert_eq!(sorter.finish(&mut out).unwrap(), 50);
        lines.sort_unstable();
        assert_eq!(String::from_utf8(out).unwrap(), lines.concat());
        assert!(!work.exists(), "the runs are removed");
    }
}
