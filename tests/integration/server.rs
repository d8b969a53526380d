//! Tests of the server (being written).
