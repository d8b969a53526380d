//! Tests of the schedule (being written).
