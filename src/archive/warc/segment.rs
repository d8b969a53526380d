//! The append-only tail of one file, generic over its sink so a failing disk can be tested.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// Where appends go: a file, or in tests any seekable sink that can be cut back.
pub(super) trait Sink: Write + Seek {
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Sink for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// The append-only tail of one file.
pub(super) struct Segment<S> {
    pub(super) sink: S,
    pub(super) len: u64,
    /// A failed append could not be cut back: bytes past `len` are garbage.
    pub(super) dirty: bool,
}

impl<S: Sink> Segment<S> {
    /// Writes the members back to back; on any failure cuts the sink back to where it started.
    pub(super) fn append(&mut self, members: &[Vec<u8>]) -> io::Result<Vec<(u64, u64)>> {
        if self.dirty {
            self.sink.truncate(self.len)?;
            self.dirty = false;
        }
        let start = self.len;
        let written = self.sink.seek(SeekFrom::Start(start)).and_then(|_| {
            for member in members {
                self.sink.write_all(member)?;
            }
            self.sink.flush()
        });
        if let Err(error) = written {
            let cut = self
                .sink
                .truncate(start)
                .and_then(|_| self.sink.seek(SeekFrom::Start(start)));
            if let Err(cut_error) = cut {
                tracing::warn!(error = %cut_error, "could not cut a failed WARC append back; retrying before the next one");
                self.dirty = true;
            }
            return Err(error);
        }
        let mut offset = start;
        let bounds = members
            .iter()
            .map(|member| {
                let bound = (offset, member.len() as u64);
                offset += member.len() as u64;
                bound
            })
            .collect();
        self.len = offset;
        Ok(bounds)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use crate::archive::warc::member;

    use super::*;

    /// A sink that accepts `budget` bytes and then fails, as a full disk does.
    struct FailingAfter {
        inner: Cursor<Vec<u8>>,
        budget: usize,
    }

    impl Write for FailingAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            self.inner.write(&buf[..n])
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for FailingAfter {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    impl Sink for FailingAfter {
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.inner.get_mut().truncate(len as usize);
            Ok(())
        }
    }

    #[test]
    fn a_failed_append_leaves_no_part_of_its_group() {
        let first = member::encode(b"first record");
        let group = [
            member::encode(b"second record"),
            member::encode(b"third record"),
        ];
        let mut segment = Segment {
            sink: FailingAfter {
                inner: Cursor::new(Vec::new()),
                budget: first.len() + group[0].len() + 5,
            },
            len: 0,
            dirty: false,
        };
        assert_eq!(
            segment.append(std::slice::from_ref(&first)).unwrap(),
            vec![(0, first.len() as u64)]
        );
        let error = segment.append(&group).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        assert_eq!(
            segment.sink.inner.get_ref(),
            &first,
            "the file holds the first group alone"
        );
        assert_eq!(segment.len, first.len() as u64);

        // Space comes back: the next group goes right after the first.
        segment.sink.budget = usize::MAX;
        let bounds = segment.append(&group).unwrap();
        assert_eq!(bounds[0].0, first.len() as u64);
        assert_eq!(segment.sink.inner.get_ref().len() as u64, segment.len);
    }
}
