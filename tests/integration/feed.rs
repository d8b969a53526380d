//! Tests of the feed (being written).
