//! Appending records: the current file, its tail checked on open, rotation at the size limit.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{SubsecRound, Utc};

use super::member::{self, Step, Walk};
use super::segment::Segment;
use super::{Location, Record, WarcError};

const PREFIX: &str = "gazette-";
const SUFFIX: &str = ".warc.gz";

/// Appends records to the newest WARC file of a directory, beginning a new file at the size limit.
pub struct WarcWriter {
    dir: PathBuf,
    max_bytes: u64,
    /// The node id new files are named with (`storage.node_id`), in a cluster.
    node_id: Option<String>,
    name: String,
    segment: Segment<File>,
    /// False while the file holds its warcinfo alone: a group never goes to a new file then.
    holds_records: bool,
    /// A file was created since the last sync, so the directory needs one too.
    dir_unsynced: bool,
}

impl WarcWriter {
    /// Opens `dir` (created if missing) for appending. The newest file is checked first: a member
    /// cut off by a crash is truncated away, and a file damaged otherwise is left as it is and a
    /// new one begun.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<WarcWriter, WarcError> {
        WarcWriter::open_as(dir, max_bytes, None)
    }

    /// [`WarcWriter::open`], new files named with `node_id` when there is one: the nodes of a
    /// cluster upload their files side by side under one prefix.
    pub fn open_as(
        dir: &Path,
        max_bytes: u64,
        node_id: Option<&str>,
    ) -> Result<WarcWriter, WarcError> {
        let node_id = node_id.map(str::to_string);
        fs::create_dir_all(dir).map_err(WarcError::io("create", dir))?;
        let files = warc_files(dir)?;
        if let Some(newest) = files.last() {
            let path = dir.join(newest);
            if let Some((segment, members)) = reopen(&path, newest)? {
                let mut writer = WarcWriter {
                    dir: dir.to_path_buf(),
                    max_bytes,
                    node_id,
                    name: newest.clone(),
                    segment,
                    holds_records: members > 1,
                    dir_unsynced: false,
                };
                if members == 0 {
                    writer.write_warcinfo()?;
                }
                return Ok(writer);
            }
        }
        let (name, segment) = create(dir, files.last().map(String::as_str), node_id.as_deref())?;
        let mut writer = WarcWriter {
            dir: dir.to_path_buf(),
            max_bytes,
            node_id,
            name,
            segment,
            holds_records: false,
            dir_unsynced: true,
        };
        writer.write_warcinfo()?;
        Ok(writer)
    }

    /// Writes the records of one group back to back in one file and returns where each went.
    /// On failure the file is cut back to where the group began.
    pub fn append(&mut self, records: &[Record]) -> Result<Vec<Location>, WarcError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut members: Vec<Vec<u8>> = records
            .iter()
            .map(|record| member::encode(&record.to_bytes()))
            .collect();
        let size: u64 = members.iter().map(|m| m.len() as u64).sum();
        if self.holds_records && self.segment.len + size > self.max_bytes {
            self.rotate()?;
        }
        // A file left empty by a failed start gets its warcinfo with the first group.
        let with_warcinfo = self.segment.len == 0;
        if with_warcinfo {
            members.insert(0, self.warcinfo_member());
        }
        let bounds = self
            .segment
            .append(&members)
            .map_err(WarcError::io("write", self.dir.join(&self.name)))?;
        self.holds_records = true;
        Ok(bounds
            .into_iter()
            .skip(usize::from(with_warcinfo))
            .map(|(offset, length)| Location {
                file: self.name.clone(),
                offset,
                length,
            })
            .collect())
    }

    /// Makes everything appended so far durable: the file, and the directory after a new file.
    pub fn sync(&mut self) -> Result<(), WarcError> {
        let path = self.dir.join(&self.name);
        self.segment
            .sink
            .sync_data()
            .map_err(WarcError::io("sync", &path))?;
        if self.dir_unsynced {
            File::open(&self.dir)
                .and_then(|dir| dir.sync_all())
                .map_err(WarcError::io("sync", &self.dir))?;
            self.dir_unsynced = false;
        }
        Ok(())
    }

    /// The file being appended to.
    pub fn current_file(&self) -> &str {
        &self.name
    }

    fn rotate(&mut self) -> Result<(), WarcError> {
        self.sync()?;
        let (name, segment) = create(&self.dir, Some(&self.name), self.node_id.as_deref())?;
        self.name = name;
        self.segment = segment;
        self.holds_records = false;
        self.dir_unsynced = true;
        self.write_warcinfo()
    }

    fn write_warcinfo(&mut self) -> Result<(), WarcError> {
        let warcinfo = self.warcinfo_member();
        self.segment
            .append(&[warcinfo])
            .map_err(WarcError::io("write", self.dir.join(&self.name)))?;
        Ok(())
    }

    fn warcinfo_member(&self) -> Vec<u8> {
        let now = Utc::now().trunc_subsecs(0);
        member::encode(&Record::warcinfo(&self.name, now).to_bytes())
    }
}

/// The newest file opened for appending, with its member count, once its tail is sound; `None`
/// when it is damaged and must be left alone.
fn reopen(path: &Path, name: &str) -> Result<Option<(Segment<File>, usize)>, WarcError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(WarcError::io("open", path))?;
    let end = file.metadata().map_err(WarcError::io("read", path))?.len();
    let mut walk = Walk::new(&mut file, 0, end);
    let mut members = 0;
    let mut last = None;
    let keep = loop {
        match walk.step().map_err(WarcError::io("read", path))? {
            Step::Member { offset, length } => {
                members += 1;
                last = Some((offset, length));
            }
            Step::End => break end,
            Step::CutOff { offset } => {
                tracing::warn!(
                    file = name,
                    bytes_dropped = end - offset,
                    "the last record of the WARC file was cut off; truncating it away"
                );
                break offset;
            }
            Step::Damaged { offset, detail } => {
                tracing::warn!(
                    file = name,
                    offset,
                    detail,
                    "WARC file damaged; leaving it as it is and beginning a new file"
                );
                return Ok(None);
            }
        }
    };
    // A crash can leave a member whose length is written but whose bytes are not.
    if let Some((offset, length)) = last {
        let bytes = walk
            .member_bytes(offset, length)
            .map_err(WarcError::io("read", path))?;
        if let Err(e) = member::inflate(&bytes) {
            tracing::warn!(
                file = name,
                offset,
                error = %e,
                "the last record of the WARC file does not inflate; leaving the file as it is and beginning a new file"
            );
            return Ok(None);
        }
    }
    if keep < end {
        file.set_len(keep)
            .map_err(WarcError::io("truncate", path))?;
    }
    file.seek(SeekFrom::Start(keep))
        .map_err(WarcError::io("seek", path))?;
    Ok(Some((
        Segment {
            sink: file,
            len: keep,
            dirty: false,
        },
        members,
    )))
}

/// A new empty file named after the time, the next sequence number and the node, if any.
fn create(
    dir: &Path,
    newest: Option<&str>,
    node_id: Option<&str>,
) -> Result<(String, Segment<File>), WarcError> {
    let (mut stamp, sequence) = match newest.and_then(name_parts) {
        Some((stamp, sequence, _)) => (stamp.to_string(), sequence + 1),
        None => (String::new(), 1),
    };
    // Names sort by creation even when the clock steps back.
    let now = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    if now > stamp {
        stamp = now;
    }
    let name = match node_id {
        Some(node) => format!("{PREFIX}{stamp}-{sequence:05}-{node}{SUFFIX}"),
        None => format!("{PREFIX}{stamp}-{sequence:05}{SUFFIX}"),
    };
    let path = dir.join(&name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(WarcError::io("create", &path))?;
    Ok((
        name,
        Segment {
            sink: file,
            len: 0,
            dirty: false,
        },
    ))
}

/// The WARC files of `dir`, oldest first.
pub(super) fn warc_files(dir: &Path) -> Result<Vec<String>, WarcError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(WarcError::io("list", dir))? {
        let entry = entry.map_err(WarcError::io("list", dir))?;
        if let Some(name) = entry.file_name().to_str().filter(|n| is_warc_file_name(n)) {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether `name` is one of the files this module writes: `gazette-<stamp>-<sequence>.warc.gz`,
/// or `gazette-<stamp>-<sequence>-<node id>.warc.gz` in a cluster.
pub fn is_warc_file_name(name: &str) -> bool {
    name_parts(name).is_some()
}

/// The node id a WARC file's name carries, if any.
pub fn node_of(name: &str) -> Option<&str> {
    name_parts(name).and_then(|(_, _, node)| node)
}

/// A file name's stamp, sequence number and node id.
fn name_parts(name: &str) -> Option<(&str, u64, Option<&str>)> {
    let middle = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (stamp, rest) = middle.split_once('-')?;
    let (sequence, node) = match rest.split_once('-') {
        Some((sequence, node)) => (sequence, Some(node)),
        None => (rest, None),
    };
    // A node id is a slug: lowercase letters, digits and '-'.
    let node_ok = node.is_none_or(|node| {
        !node.is_empty()
            && node
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let stamp_ok = stamp.len() == 16
        && stamp.ends_with('Z')
        && stamp.as_bytes()[8] == b'T'
        && stamp
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 8 || i == 15 || b.is_ascii_digit());
    let sequence_ok = !sequence.is_empty() && sequence.bytes().all(|b| b.is_ascii_digit());
    (stamp_ok && sequence_ok && node_ok).then(|| Some((stamp, sequence.parse().ok()?, node)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_by_creation_and_are_recognised() {
        assert_eq!(
            name_parts("gazette-20260127T103000Z-00001.warc.gz"),
            Some(("20260127T103000Z", 1, None))
        );
        assert_eq!(
            name_parts("gazette-20260127T103000Z-00001-node-b2.warc.gz"),
            Some(("20260127T103000Z", 1, Some("node-b2")))
        );
        assert_eq!(
            node_of("gazette-20260127T103000Z-00007-a.warc.gz"),
            Some("a")
        );
        for name in [
            "gazette-20260127T103000Z-.warc.gz",
            "../gazette-20260127T103000Z-00001.warc.gz",
            "gazette-2026012XT103000Z-00001.warc.gz",
            "other.warc.gz",
            "gazette-20260127T103000Z-00001-.warc.gz",
            "gazette-20260127T103000Z-00001-Node.warc.gz",
            "gazette-20260127T103000Z-00001-a/b.warc.gz",
        ] {
            assert!(!is_warc_file_name(name), "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let (name, _) = create(
            dir.path(),
            Some("gazette-29990101T000000Z-00041.warc.gz"),
            None,
        )
        .unwrap();
        assert_eq!(name, "gazette-29990101T000000Z-00042.warc.gz");
        // A node's next file follows the newest of the directory, whoever named it.
        let (name, _) = create(dir.path(), Some(&name), Some("node-b")).unwrap();
        assert_eq!(name, "gazette-29990101T000000Z-00043-node-b.warc.gz");
        let mut names = [name, "gazette-29990101T000000Z-00042.warc.gz".to_string()];
        names.sort();
        assert_eq!(names[1], "gazette-29990101T000000Z-00043-node-b.warc.gz");
    }
}
