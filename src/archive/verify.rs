//! `gazette verify`: every record's digests, and every location the index names holds the record
//! it should.

use std::collections::HashMap;

use super::assets::AssetEntry;
use super::index::{self, Entry, Span};
use super::warc::{self, RecordId, RecordType, WarcError};
use super::{ArchiveError, SledArchive};

/// What verifying found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    pub files: usize,
    pub records: usize,
    pub articles: usize,
    pub revisions: usize,
    /// Attachment and image URLs whose record was checked.
    pub assets: usize,
    /// The first damage found, if any.
    pub damage: Option<Damage>,
}

/// One damaged place: a file, a byte offset in it, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: String,
    pub offset: u64,
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}: {}", self.file, self.offset, self.what)
    }
}

impl SledArchive {
    /// Reads every record of every WARC file and checks its digests, then checks every location
    /// the index names; stops at the first damage.
    pub fn verify(&self) -> Result<Verified, ArchiveError> {
        let mut verified = Verified::default();
        let mut found: HashMap<(String, u64), (u64, RecordType, RecordId)> = HashMap::new();
        let mut files = std::collections::HashSet::new();
        let mut check = |item: Result<(warc::Location, warc::ParsedRecord), WarcError>| {
            let (at, record) = item.map_err(damage_of)?;
            if let Err(err) = warc::verify_digests(&record) {
                return Err(Damage {
                    file: at.file,
                    offset: at.offset,
                    what: crate::describe(&err),
                });
            }
            files.insert(at.file.clone());
            verified.records += 1;
            found.insert(
                (at.file, at.offset),
                (at.length, record.kind().clone(), record.id().clone()),
            );
            Ok(())
        };
        for item in warc::scan(self.warc_dir()) {
            if let Err(damage) = check(item) {
                verified.damage = Some(damage);
                return Ok(verified);
            }
        }
        // Uploaded files no longer on the disk: each copied beside the archive, read, removed.
        if let Some(remote) = self.records().remote() {
            let local = warc::files(self.warc_dir()).unwrap_or_default();
            let scratch = scratch_dir(self.path());
            for (name, _) in remote.list_own()? {
                if local.contains(&name) {
                    continue;
                }
                std::fs::create_dir_all(&scratch).map_err(|source| ArchiveError::Io {
                    path: scratch.clone(),
                    source,
                })?;
                let (file, into) = (name.clone(), scratch.clone());
                let copied =
                    remote.run(move |bucket| async move { bucket.download(&file, &into).await });
                let damage = copied
                    .map_err(ArchiveError::from)
                    .map(|_| warc::scan_file(&scratch, &name).try_for_each(&mut check));
                let _ = std::fs::remove_dir_all(&scratch);
                if let Err(damage) = damage? {
                    verified.damage = Some(damage);
                    return Ok(verified);
                }
            }
        }
        verified.files = files.len();
        let expect = |span: &Span, kind: RecordType, id: Option<&RecordId>, what: &str| {
            let missing = |detail: String| Damage {
                file: span.0.clone(),
                offset: span.1,
                what: format!("the index names {what} here, but {detail}"),
            };
            match found.get(&(span.0.clone(), span.1)) {
                None if !files.contains(&span.0) => {
                    Err(missing("the file is missing from the WARC files".into()))
                }
                None => Err(missing("no record begins there".into())),
                Some((length, _, _)) if *length != span.2 => Err(missing(format!(
                    "the record there is {length} bytes long, not {}",
                    span.2
                ))),
                Some((_, found_kind, _)) if *found_kind != kind => Err(missing(format!(
                    "the record there is a {} record",
                    found_kind.as_str()
                ))),
                Some((_, _, found_id)) if id.is_some_and(|id| id != found_id) => {
                    Err(missing(format!("the record there is {found_id}")))
                }
                Some(_) => Ok(()),
            }
        };
        for item in self.trees().articles.iter() {
            let (key, value) = item.map_err(|err| self.index_error(err))?;
            let entry = Entry::unpack(&key, &value)?;
            verified.articles += 1;
            let what = format!("the latest revision of {}", String::from_utf8_lossy(&key));
            if let Err(damage) = expect(&entry.latest, RecordType::Metadata, None, &what) {
                verified.damage = Some(damage);
                return Ok(verified);
            }
            let name = String::from_utf8_lossy(&key).into_owned();
            for revision in entry.kept.values() {
                verified.revisions += 1;
                let checks = [
                    (
                        Some(&revision.metadata),
                        RecordType::Metadata,
                        None,
                        "metadata record",
                    ),
                    (
                        revision.response.as_ref(),
                        RecordType::Response,
                        None,
                        "response record",
                    ),
                    (
                        revision.request.as_ref(),
                        RecordType::Request,
                        None,
                        "request record",
                    ),
                ];
                for (span, kind, id, what) in checks {
                    let Some(span) = span else { continue };
                    if let Err(damage) = expect(span, kind, id, &format!("a {what} of {name}")) {
                        verified.damage = Some(damage);
                        return Ok(verified);
                    }
                }
            }
        }
        for item in self.trees().assets.iter() {
            let (key, value) = item.map_err(|err| self.index_error(err))?;
            let entry: AssetEntry = index::decode(&key, &value)?;
            verified.assets += 1;
            let at = &entry.info.record;
            let span = Span(at.file.clone(), at.offset, at.length);
            let what = format!("the bytes of asset {}", entry.info.url);
            if let Err(damage) = expect(&span, RecordType::Response, None, &what) {
                verified.damage = Some(damage);
                return Ok(verified);
            }
        }
        Ok(verified)
    }
}

/// Where uploaded files are copied to be read: beside the archive, as its pid file is.
fn scratch_dir(root: &std::path::Path) -> std::path::PathBuf {
    let mut name = root.as_os_str().to_owned();
    name.push(".verify");
    std::path::PathBuf::from(name)
}

fn damage_of(err: WarcError) -> Damage {
    match &err {
        WarcError::Corrupt {
            file,
            offset,
            detail,
        } => Damage {
            file: file.clone(),
            offset: *offset,
            what: detail.clone(),
        },
        WarcError::Gzip { file, offset, .. } => Damage {
            file: file.clone(),
            offset: *offset,
            what: "the gzip member does not inflate".into(),
        },
        _ => Damage {
            file: String::new(),
            offset: 0,
            what: crate::describe(&err),
        },
    }
}
