//! Integration tests, one binary: extraction against saved pages, the config contract, the CLI.

mod access;
mod archive;
mod assets;
mod async_archive;
mod cli;
mod config;
mod connections;
mod crawl;
mod extract;
mod feed;
mod feed_server;
mod full_disk;
mod health;
mod hostile;
mod init;
mod maintenance;
mod reader;
mod reparse;
mod replay;
mod schedule;
mod search;
mod server;
mod support;
mod templates;
mod warc;
mod websub;
