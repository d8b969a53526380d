//! Placeholder: the portal replay server is being written.
