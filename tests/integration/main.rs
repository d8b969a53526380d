//! Integration tests, one binary: extraction against saved pages, the config contract, the CLI.

mod cli;
mod config;
mod extract;
mod support;
