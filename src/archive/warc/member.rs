//! One gzip member per record. Each member states its own compressed length in a gzip extra
//! subfield (as BGZF does), so the members of a file are walked without inflating them; gzip
//! readers skip the subfield.

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The extra subfield's id and its payload, the member length as a little-endian u64.
const SUBFIELD_ID: [u8; 2] = *b"gZ";
const EXTRA_LEN: usize = 2 + 2 + 8;
/// Fixed gzip header, XLEN, then the subfield.
pub(super) const HEADER_LEN: usize = 10 + 2 + EXTRA_LEN;
const LENGTH_AT: usize = 10 + 2 + 4;
/// The gzip trailer: CRC32 and ISIZE.
const TRAILER_LEN: usize = 8;

/// The largest record gazette inflates; a larger one is reported, not read into memory.
pub(super) const MAX_RECORD_BYTES: u64 = 256 << 20;

/// zlib's default level: on the portal's pages level 9 came out no smaller (within 3 bytes).
const LEVEL: u32 = 6;

thread_local! {
    /// One deflate state per thread, reset for each member: making a new one for every record
    /// (three an article) cost more than a tenth of the writer's time.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(LEVEL), false));
}

/// A record compressed into one member with its length in the header.
pub(super) fn encode(record: &[u8]) -> Vec<u8> {
    let mut member = Vec::with_capacity(HEADER_LEN + record.len() / 2 + 64 + TRAILER_LEN);
    // ID1 ID2 CM=deflate FLG=FEXTRA, no mtime, no extra flags, OS unknown; then XLEN and the
    // subfield, whose length is filled in at the end.
    member.extend_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 255]);
    member.extend_from_slice(&(EXTRA_LEN as u16).to_le_bytes());
    member.extend_from_slice(&SUBFIELD_ID);
    member.extend_from_slice(&8u16.to_le_bytes());
    member.extend_from_slice(&[0; 8]);
    DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        loop {
            let read = deflate.total_in() as usize;
            member.reserve(record.len().saturating_sub(read) / 2 + 64);
            // Into memory, with room reserved: only a bug in the deflater can fail here.
            let status = deflate
                .compress_vec(&record[read..], &mut member, FlushCompress::Finish)
                .expect("deflate into memory");
            if status == Status::StreamEnd {
                break;
            }
        }
    });
    let mut crc = Crc::new();
    crc.update(record);
    member.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    member.extend_from_slice(&(record.len() as u32).to_le_bytes());
    let length = member.len() as u64;
    member[LENGTH_AT..LENGTH_AT + 8].copy_from_slice(&length.to_le_bytes());
    member
}

/// The member length a header declares, or why the bytes are not one of our members.
pub(super) fn declared_length(head: &[u8; HEADER_LEN]) -> Result<u64, &'static str> {
    if head[..3] != [0x1f, 0x8b, 8] {
        return Err("not a gzip member");
    }
    let has_extra = head[3] & 0x04 != 0;
    let xlen = u16::from_le_bytes([head[10], head[11]]) as usize;
    if !has_extra
        || xlen != EXTRA_LEN
        || head[12..14] != SUBFIELD_ID
        || head[14..16] != 8u16.to_le_bytes()
    {
        return Err("gzip member without gazette's length field");
    }
    let length = u64::from_le_bytes(head[LENGTH_AT..LENGTH_AT + 8].try_into().expect("8 bytes"));
    if length < (HEADER_LEN + TRAILER_LEN) as u64 {
        return Err("gzip member declares a length shorter than its header");
    }
    Ok(length)
}

/// The record inside one member; the member must end exactly where the bytes do.
pub(super) fn inflate(member: &[u8]) -> io::Result<Vec<u8>> {
    let mut decoder = flate2::bufread::GzDecoder::new(member);
    let mut record = Vec::with_capacity(member.len() * 4);
    (&mut decoder)
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut record)?;
    if record.len() as u64 > MAX_RECORD_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("record larger than {MAX_RECORD_BYTES} bytes"),
        ));
    }
    if !decoder.into_inner().is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bytes left after the gzip member's end",
        ));
    }
    Ok(record)
}

/// What lies at the walk's position in a file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    Member {
        offset: u64,
        length: u64,
    },
    End,
    /// The file stops inside a member (a write cut short).
    CutOff {
        offset: u64,
    },
    Damaged {
        offset: u64,
        detail: &'static str,
    },
}

/// Walks the members of one file by their headers.
pub(super) struct Walk<R> {
    source: R,
    offset: u64,
    end: u64,
}

impl<R: Read + Seek> Walk<R> {
    /// A walk from `offset`, which must be where a member begins.
    pub(super) fn new(source: R, offset: u64, end: u64) -> Walk<R> {
        Walk {
            source,
            offset,
            end,
        }
    }

    /// The next member's bounds; the walk moves past it.
    pub(super) fn step(&mut self) -> io::Result<Step> {
        let offset = self.offset;
        let left = self.end.saturating_sub(offset);
        if left == 0 {
            return Ok(Step::End);
        }
        if left < HEADER_LEN as u64 {
            return Ok(Step::CutOff { offset });
        }
        let mut head = [0u8; HEADER_LEN];
        self.source.seek(SeekFrom::Start(offset))?;
        self.source.read_exact(&mut head)?;
        match declared_length(&head) {
            Err(detail) => Ok(Step::Damaged { offset, detail }),
            Ok(length) if length > left => Ok(Step::CutOff { offset }),
            Ok(length) => {
                self.offset = offset + length;
                Ok(Step::Member { offset, length })
            }
        }
    }

    /// The bytes of a member `step` returned.
    pub(super) fn member_bytes(&mut self, offset: u64, length: u64) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0; length as usize];
        self.source.seek(SeekFrom::Start(offset))?;
        self.source.read_exact(&mut bytes)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn a_member_states_its_length_and_inflates_back() {
        // Records of every shape, one after another through the same deflate state; bytes that
        // do not compress come out larger than half their size, past what `encode` reserves.
        let warc = b"WARC/1.1\r\nWARC-Type: resource\r\n\r\n".repeat(50);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let text = b"<p>B\xc3\xa0i vi\xe1\xba\xbft</p>".repeat(200_000);
        for record in [&warc[..], b"", &noise, &text, b"short"] {
            let member = encode(record);
            let head: [u8; HEADER_LEN] = member[..HEADER_LEN].try_into().unwrap();
            assert_eq!(declared_length(&head), Ok(member.len() as u64));
            assert_eq!(inflate(&member).unwrap(), record);
            // An ordinary gzip reader reads it as well.
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&member[..])
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, record);
        }
    }

    #[test]
    fn a_member_is_the_bytes_a_gzip_encoder_writes_with_the_length_subfield() {
        let record = b"WARC/1.1\r\nWARC-Type: response\r\n\r\n<p>Ban qu\xe1\xba\xa3n l\xc3\xbd</p>"
            .repeat(300);
        let mut extra = SUBFIELD_ID.to_vec();
        extra.extend_from_slice(&8u16.to_le_bytes());
        extra.extend_from_slice(&[0; 8]);
        let mut encoder = flate2::GzBuilder::new()
            .extra(extra)
            .write(Vec::new(), Compression::new(LEVEL));
        io::Write::write_all(&mut encoder, &record).unwrap();
        let mut expected = encoder.finish().unwrap();
        let length = expected.len() as u64;
        expected[LENGTH_AT..LENGTH_AT + 8].copy_from_slice(&length.to_le_bytes());
        // Twice: the second member comes from the reused deflate state.
        assert_eq!(encode(&record), expected);
        assert_eq!(encode(&record), expected);
    }

    #[test]
    fn inflate_refuses_a_cut_member_and_trailing_bytes() {
        let member = encode(b"some record bytes");
        assert!(inflate(&member[..member.len() - 3]).is_err());
        let mut longer = member.clone();
        longer.push(0);
        assert!(inflate(&longer).is_err());
    }

    #[test]
    fn the_walk_finds_members_then_a_cut_one() {
        let first = encode(b"first");
        let second = encode(b"second");
        let mut file = first.clone();
        file.extend_from_slice(&second[..second.len() - 1]);
        let end = file.len() as u64;
        let mut walk = Walk::new(Cursor::new(file), 0, end);
        assert_eq!(
            walk.step().unwrap(),
            Step::Member {
                offset: 0,
                length: first.len() as u64
            }
        );
        assert_eq!(
            walk.step().unwrap(),
            Step::CutOff {
                offset: first.len() as u64
            }
        );
    }

    #[test]
    fn the_walk_reports_bytes_that_are_not_a_member() {
        let mut walk = Walk::new(Cursor::new(vec![0u8; 64]), 0, 64);
        assert!(matches!(
            walk.step().unwrap(),
            Step::Damaged { offset: 0, .. }
        ));
    }
}
