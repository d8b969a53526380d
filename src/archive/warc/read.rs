//! Reading records: one by its location, or every record of every file in order.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::member::{self, MAX_RECORD_BYTES, Step, Walk};
use super::writer::{is_warc_file_name, warc_files};
use super::{Location, ParsedRecord, WarcError};

/// Checks a location read from an index before reading it: it may only name a WARC file of
/// this archive, and a member of a bounded size.
pub fn check_location(at: &Location) -> Result<(), WarcError> {
    let corrupt = |detail: String| WarcError::Corrupt {
        file: at.file.clone(),
        offset: at.offset,
        detail,
    };
    if !is_warc_file_name(&at.file) {
        return Err(corrupt(
            "not the name of a WARC file of this archive".into(),
        ));
    }
    if at.length > MAX_RECORD_BYTES {
        return Err(corrupt(format!(
            "a member of {} bytes is too large",
            at.length
        )));
    }
    Ok(())
}

/// The record in `member`, the bytes `at` names (read from the object store, say).
pub fn decode_member(member: &[u8], at: &Location) -> Result<ParsedRecord, WarcError> {
    if member.len() as u64 != at.length {
        return Err(WarcError::Corrupt {
            file: at.file.clone(),
            offset: at.offset,
            detail: "the file ends before the record".into(),
        });
    }
    decode(member, &at.file, at.offset)
}

/// The WARC files of `dir`, oldest first.
pub fn files(dir: &Path) -> Result<Vec<String>, WarcError> {
    warc_files(dir)
}

/// The record at `at`: one positioned read and one gunzip.
pub fn read(dir: &Path, at: &Location) -> Result<ParsedRecord, WarcError> {
    let corrupt = |detail: String| WarcError::Corrupt {
        file: at.file.clone(),
        offset: at.offset,
        detail,
    };
    check_location(at)?;
    let path = dir.join(&at.file);
    let mut file = File::open(&path).map_err(WarcError::io("open", &path))?;
    let mut bytes = vec![0; at.length as usize];
    file.seek(SeekFrom::Start(at.offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => corrupt("the file ends before the record".into()),
            _ => WarcError::io("read", &path)(e),
        })?;
    decode(&bytes, &at.file, at.offset)
}

fn decode(member: &[u8], file: &str, offset: u64) -> Result<ParsedRecord, WarcError> {
    let record = member::inflate(member).map_err(|source| WarcError::Gzip {
        file: file.to_string(),
        offset,
        source,
    })?;
    ParsedRecord::parse(record, file, offset)
}

/// Every record of every WARC file in `dir`, oldest file first. A damaged file yields its error
/// and the scan goes on with the next file.
pub fn scan(dir: &Path) -> Scan {
    let (files, pending) = match warc_files(dir) {
        Ok(files) => (files, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    Scan {
        dir: dir.to_path_buf(),
        files: files.into_iter(),
        current: None,
        pending,
        start: 0,
    }
}

/// Every record of the one file `name` of `dir`.
pub fn scan_file(dir: &Path, name: &str) -> Scan {
    scan_file_from(dir, name, 0)
}

/// The records of the file `name` of `dir` from `offset` on, which must be where a member
/// begins (the end of a record read before).
pub fn scan_file_from(dir: &Path, name: &str, offset: u64) -> Scan {
    Scan {
        dir: dir.to_path_buf(),
        files: vec![name.to_string()].into_iter(),
        current: None,
        pending: None,
        start: offset,
    }
}

/// The iterator [`scan`] returns.
pub struct Scan {
    dir: PathBuf,
    files: std::vec::IntoIter<String>,
    current: Option<(String, Walk<File>)>,
    pending: Option<WarcError>,
    /// Where the next file opened is walked from.
    start: u64,
}

impl Scan {
    fn next_in_current(&mut self) -> Option<Result<(Location, ParsedRecord), WarcError>> {
        let (name, walk) = self.current.as_mut()?;
        let path = self.dir.join(&*name);
        let result = match walk.step() {
            Err(e) => Err(WarcError::io("read", &path)(e)),
            Ok(Step::End) => {
                self.current = None;
                return None;
            }
            Ok(Step::CutOff { offset }) => Err(WarcError::Corrupt {
                file: name.clone(),
                offset,
                detail: "the file ends inside this record".into(),
            }),
            Ok(Step::Damaged { offset, detail }) => Err(WarcError::Corrupt {
                file: name.clone(),
                offset,
                detail: detail.into(),
            }),
            Ok(Step::Member { offset, length }) if length > MAX_RECORD_BYTES => {
                Err(WarcError::Corrupt {
                    file: name.clone(),
                    offset,
                    detail: format!("a member of {length} bytes is too large"),
                })
            }
            Ok(Step::Member { offset, length }) => {
                let location = Location {
                    file: name.clone(),
                    offset,
                    length,
                };
                return Some(
                    walk.member_bytes(offset, length)
                        .map_err(WarcError::io("read", &path))
                        .and_then(|bytes| decode(&bytes, name, offset))
                        .map(|record| (location, record)),
                );
            }
        };
        // Past damage there is no telling where the next member starts.
        self.current = None;
        Some(result)
    }
}

impl Iterator for Scan {
    type Item = Result<(Location, ParsedRecord), WarcError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        loop {
            if let Some(item) = self.next_in_current() {
                return Some(item);
            }
            let name = self.files.next()?;
            let path = self.dir.join(&name);
            let start = std::mem::take(&mut self.start);
            let opened = File::open(&path).and_then(|file| {
                let end = file.metadata()?.len();
                Ok(Walk::new(file, start, end))
            });
            match opened {
                Ok(walk) => self.current = Some((name, walk)),
                Err(e) => return Some(Err(WarcError::io("open", &path)(e))),
            }
        }
    }
}
