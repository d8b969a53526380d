//! The portal replay server: tests of its own behaviour.
