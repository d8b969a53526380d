//! The index's per-article and per-revision records in few bytes: postcard (varints, no field
//! names) over compact forms of what they hold. A time is its microseconds and its offset, a
//! content hash its 32 bytes, a WARC file its stamp and
//! sequence number. Anything that does not have the usual shape is kept as text, so nothing is
//! ever lost to the encoding. sled's space on disk grows with every byte of every key and value
//! (it rewrites whole nodes as they fill), which is why this matters.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ArchiveError;

pub(super) fn pack<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("index records serialise")
}

pub(super) fn unpack<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, ArchiveError> {
    postcard::from_bytes(bytes).map_err(|err| ArchiveError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        detail: err.to_string(),
    })
}

/// A time as microseconds since the epoch and its offset in seconds.
pub(super) mod time {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &DateTime<FixedOffset>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        (time.timestamp_micros(), time.offset().local_minus_utc()).serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let (micros, offset) = <(i64, i32)>::deserialize(from)?;
        restore(micros, offset).ok_or_else(|| serde::de::Error::custom("a time out of range"))
    }

    pub(super) fn restore(micros: i64, offset: i32) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(offset)?;
        Some(DateTime::from_timestamp_micros(micros)?.with_timezone(&offset))
    }
}

/// [`time`], for an optional time.
pub(super) mod optional_time {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<FixedOffset>>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        time.map(|t| (t.timestamp_micros(), t.offset().local_minus_utc()))
            .serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
        match <Option<(i64, i32)>>::deserialize(from)? {
            Some((micros, offset)) => time::restore(micros, offset)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("a time out of range")),
            None => Ok(None),
        }
    }
}

#[derive(Serialize, Deserialize)]
enum Hash {
    Sha256([u8; 32]),
    Text(String),
}

/// A content hash: 32 bytes when it is lowercase hex SHA-256, as it always is.
pub(super) mod content_hash {
    use super::*;

    pub fn serialize<S: Serializer>(hash: &str, to: S) -> Result<S::Ok, S::Error> {
        let mut bytes = [0u8; 32];
        let lowercase = !hash.bytes().any(|b| b.is_ascii_uppercase());
        match hex::decode_to_slice(hash, &mut bytes) {
            Ok(()) if lowercase => Hash::Sha256(bytes),
            _ => Hash::Text(hash.to_string()),
        }
        .serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<String, D::Error> {
        Ok(match Hash::deserialize(from)? {
            Hash::Sha256(bytes) => hex::encode(bytes),
            Hash::Text(text) => text,
        })
    }
}

const FILE_PREFIX: &str = "gazette-";
const FILE_SUFFIX: &str = ".warc.gz";
const FILE_STAMP: &str = "%Y%m%dT%H%M%SZ";

#[derive(Serialize, Deserialize)]
enum File {
    /// `gazette-<stamp>-<sequence>.warc.gz`: the stamp's seconds and the sequence number.
    Named(i64, u64),
    Text(String),
}

/// A WARC file's name: its stamp and sequence number when it is named the way gazette names
/// them (and only when the name comes back exactly from those).
pub(super) mod file_name {
    use super::*;

    pub fn serialize<S: Serializer>(name: &str, to: S) -> Result<S::Ok, S::Error> {
        match parts(name) {
            Some((seconds, sequence)) => File::Named(seconds, sequence),
            None => File::Text(name.to_string()),
        }
        .serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<String, D::Error> {
        match File::deserialize(from)? {
            File::Named(seconds, sequence) => name(seconds, sequence)
                .ok_or_else(|| serde::de::Error::custom("a WARC file stamp out of range")),
            File::Text(text) => Ok(text),
        }
    }

    fn parts(name: &str) -> Option<(i64, u64)> {
        let middle = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
        let (stamp, sequence) = middle.split_once('-')?;
        let seconds = NaiveDateTime::parse_from_str(stamp, FILE_STAMP)
            .ok()?
            .and_utc()
            .timestamp();
        let sequence: u64 = sequence.parse().ok()?;
        (self::name(seconds, sequence)? == name).then_some((seconds, sequence))
    }

    fn name(seconds: i64, sequence: u64) -> Option<String> {
        let stamp = DateTime::from_timestamp(seconds, 0)?.format(FILE_STAMP);
        Some(format!("{FILE_PREFIX}{stamp}-{sequence:05}{FILE_SUFFIX}"))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "time")]
        at: DateTime<FixedOffset>,
        #[serde(with = "optional_time")]
        maybe: Option<DateTime<FixedOffset>>,
        #[serde(with = "content_hash")]
        hash: String,
        #[serde(with = "file_name")]
        file: String,
    }

    fn round_trip(sample: &Sample) -> (Sample, usize) {
        let bytes = pack(sample);
        (unpack(b"k", &bytes).unwrap(), bytes.len())
    }

    #[test]
    fn the_usual_shapes_come_back_exactly_in_few_bytes() {
        let sample = Sample {
            at: DateTime::parse_from_rfc3339("2020-07-14T08:05:01.123456+07:00").unwrap(),
            maybe: None,
            hash: "115696489760a85d03efb5072fa7472dfe353609a32767224566b8a10f894426".into(),
            file: "gazette-20261127T133102Z-00001.warc.gz".into(),
        };
        let (back, size) = round_trip(&sample);
        assert_eq!(back, sample);
        assert!(size < 60, "{size} bytes");
    }

    #[test]
    fn other_shapes_are_kept_as_text() {
        let sample = Sample {
            at: DateTime::parse_from_rfc3339("1970-01-01T00:00:00-03:30").unwrap(),
            maybe: Some(DateTime::parse_from_rfc3339("2100-12-31T23:59:59.999999Z").unwrap()),
            hash: "115696489760A85D03EFB5072FA7472DFE353609A32767224566B8A10F894426".into(),
            file: "gazette-20261127T133102Z-1.warc.gz".into(),
        };
        assert_eq!(round_trip(&sample).0, sample);
        let other = Sample {
            hash: "not hex".into(),
            file: "archive.warc.gz".into(),
            ..sample
        };
        assert_eq!(round_trip(&other).0, other);
    }
}
