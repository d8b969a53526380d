//! A WARC file copied record by record into another directory, some records' WARC headers
//! changed on the way (`gazette migrate`), and the copy checked against the original. A block is
//! never changed; a record whose headers stay is copied as its member, byte for byte.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{ParsedRecord, WarcError, member, scan_file, verify_digests};

/// A record's WARC headers, in order, as [`ParsedRecord::headers`] gives them.
pub type Headers = Vec<(String, String)>;

/// What a rewrite did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub records: usize,
    /// Records written with new headers.
    pub changed: usize,
}

/// Copies the file `name` of `from` into `to` (which must not hold it yet). `edit` gives a
/// record's new WARC headers, all of them in order, or `None` to keep the record as it is.
pub fn rewrite_file(
    from: &Path,
    name: &str,
    to: &Path,
    edit: &mut dyn FnMut(&ParsedRecord) -> Option<Headers>,
) -> Result<Rewritten, WarcError> {
    let source_path = from.join(name);
    let target_path = to.join(name);
    let mut source = File::open(&source_path).map_err(WarcError::io("open", &source_path))?;
    let target = File::create_new(&target_path).map_err(WarcError::io("create", &target_path))?;
    let mut out = BufWriter::new(target);
    let mut done = Rewritten {
        records: 0,
        changed: 0,
    };
    for item in scan_file(from, name) {
        let (at, record) = item?;
        let member = match edit(&record) {
            Some(headers) => {
                done.changed += 1;
                member::encode(&record_bytes(&headers, record.block()))
            }
            None => {
                let mut bytes = vec![0; at.length as usize];
                source
                    .seek(SeekFrom::Start(at.offset))
                    .and_then(|_| source.read_exact(&mut bytes))
                    .map_err(WarcError::io("read", &source_path))?;
                bytes
            }
        };
        out.write_all(&member)
            .map_err(WarcError::io("write", &target_path))?;
        done.records += 1;
    }
    let file = out
        .into_inner()
        .map_err(|e| WarcError::io("write", &target_path)(e.into_error()))?;
    file.sync_all()
        .map_err(WarcError::io("sync", &target_path))?;
    Ok(done)
}

/// Checks the copy of `name` in `to` against the original in `from`: the same records in the
/// same order, each with the same id, type and block, and every digest of the copy matching.
pub fn verify_rewrite(from: &Path, to: &Path, name: &str) -> Result<usize, WarcError> {
    let mut old = scan_file(from, name);
    let mut new = scan_file(to, name);
    let mut records = 0;
    loop {
        let (old_record, new_record) = match (old.next(), new.next()) {
            (None, None) => return Ok(records),
            (Some(old), Some(new)) => (old?.1, new?),
            (old, _) => {
                let (missing, shorter) = if old.is_some() {
                    ("fewer", to)
                } else {
                    ("more", from)
                };
                return Err(WarcError::Corrupt {
                    file: name.to_string(),
                    offset: 0,
                    detail: format!(
                        "the copy has {missing} records than the original ({} read through)",
                        shorter.display()
                    ),
                });
            }
        };
        let (at, new_record) = new_record;
        let differs = |what: &str| WarcError::Corrupt {
            file: name.to_string(),
            offset: at.offset,
            detail: format!("the copy's record {records} has another {what} than the original"),
        };
        if old_record.id() != new_record.id() {
            return Err(differs("WARC-Record-ID"));
        }
        if old_record.kind() != new_record.kind() {
            return Err(differs("WARC-Type"));
        }
        if old_record.block() != new_record.block() {
            return Err(differs("block"));
        }
        verify_digests(&new_record)?;
        records += 1;
    }
}

/// A record's bytes: version line, headers, block, and the two CRLFs that end it.
fn record_bytes(headers: &[(String, String)], block: &[u8]) -> Vec<u8> {
    let mut bytes = b"WARC/1.1\r\n".to_vec();
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(block);
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::warc::{Record, RecordType, WarcWriter};

    fn write_file(dir: &Path) -> String {
        let mut writer = WarcWriter::open(dir, 1 << 20).unwrap();
        let date = chrono::DateTime::parse_from_rfc3339("2026-01-27T10:30:00+07:00").unwrap();
        let page = crate::model::Capture {
            url: "https://portal.test/a".into(),
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<p>Kien Giang</p>".to_vec(),
        };
        let response = Record::response(&page, date);
        let note = Record::note(b"{}".to_vec(), Some(response.id()), &page.url, date);
        writer.append(&[response, note]).unwrap();
        writer.sync().unwrap();
        writer.current_file().to_string()
    }

    #[test]
    fn changed_headers_keep_the_block_and_the_rest_is_copied_byte_for_byte() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let name = write_file(from.path());
        let done = rewrite_file(from.path(), &name, to.path(), &mut |record| {
            (record.kind() == &RecordType::Metadata).then(|| {
                let mut headers = record.headers().to_vec();
                for (field, value) in &mut headers {
                    if field == "WARC-Target-URI" {
                        *value = "urn:gazette:article:t:a:1".into();
                    }
                }
                headers
            })
        })
        .unwrap();
        assert_eq!(
            done,
            Rewritten {
                records: 3,
                changed: 1
            }
        );
        assert_eq!(verify_rewrite(from.path(), to.path(), &name).unwrap(), 3);
        let old: Vec<_> = scan_file(from.path(), &name).map(Result::unwrap).collect();
        let new: Vec<_> = scan_file(to.path(), &name).map(Result::unwrap).collect();
        // warcinfo and response: the same members at the same places.
        assert_eq!(
            old[..2].iter().map(|r| &r.0).collect::<Vec<_>>(),
            new[..2].iter().map(|r| &r.0).collect::<Vec<_>>()
        );
        assert_eq!(new[2].1.target_uri(), Some("urn:gazette:article:t:a:1"));
        assert_eq!(new[2].1.refers_to(), old[2].1.refers_to());
    }

    #[test]
    fn a_copy_that_differs_is_caught() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let name = write_file(from.path());
        rewrite_file(from.path(), &name, to.path(), &mut |record| {
            (record.kind() == &RecordType::Metadata).then(|| {
                let mut headers = record.headers().to_vec();
                for (field, value) in &mut headers {
                    if field == "WARC-Record-ID" {
                        *value = "<urn:uuid:00000000-0000-4000-8000-000000000000>".into();
                    }
                }
                headers
            })
        })
        .unwrap();
        let error = verify_rewrite(from.path(), to.path(), &name).unwrap_err();
        assert!(error.to_string().contains(&name), "{error}");
        // And a copy cut short.
        let path = to.path().join(&name);
        let bytes = std::fs::read(from.path().join(&name)).unwrap();
        let first_two: u64 = scan_file(from.path(), &name)
            .take(2)
            .map(|r| r.unwrap().0.length)
            .sum();
        std::fs::write(&path, &bytes[..first_two as usize]).unwrap();
        assert!(verify_rewrite(from.path(), to.path(), &name).is_err());
    }
}
