//! The command line: subcommands and their flags.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Turns a legacy news portal into RSS/Atom/JSON feeds and a queryable archive.
#[derive(Debug, Parser)]
#[command(name = "gazette", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the parser makes of one page, as JSON.
    Extract(ExtractArgs),
    /// Validate a config file and print its sources and sections.
    Check {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The source whose profile reads the page.
    #[arg(long, value_name = "ID")]
    pub source: String,
    /// The section the article is listed in [default: the source's first section].
    #[arg(long, value_name = "ID")]
    pub section: Option<String>,
    /// Read the page as a category list page instead of an article.
    #[arg(long)]
    pub list: bool,
    /// The page's address (with --file: where the saved page came from).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// A saved page to read instead of fetching --url.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The HTTP Content-Type the page was served with, e.g. "text/html; charset=windows-1258".
    #[arg(long, value_name = "VALUE")]
    pub content_type: Option<String>,
}
