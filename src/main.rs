//! The `gazette` binary: parses the command line, calls the library, maps errors to exit codes.

mod cli;
mod commands;
mod maintenance;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use gazette::config::ConfigError;

use cli::{Cli, Command, LogFormat};
use commands::UsageError;

fn main() -> ExitCode {
    fixed_mmap_threshold();
    let cli = Cli::parse();
    let daemon = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
    // The daemon says what it does at info; one-shot commands only warn.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // sled logs its I/O failures as debug dumps; the archive reports them itself, readably.
        // tantivy tells of every commit and merge at info: its warnings are enough by default.
        tracing_subscriber::EnvFilter::new(if daemon {
            "info,sled=off,tantivy=warn"
        } else {
            "warn,sled=off"
        })
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a log file or pipe.
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let result = match &cli.command {
        Command::Extract(args) => commands::extract(args),
        Command::Init(args) => commands::init(args),
        Command::Check { config, health } => commands::check(config, *health),
        Command::Crawl(args) => commands::crawl(args),
        Command::Query(args) => commands::query(args),
        Command::Show(args) => commands::show(args),
        Command::Export(args) => commands::export(args),
        Command::Import(args) => commands::import(args),
        Command::Serve { config } => commands::serve(config),
        Command::Search(args) => commands::search::search(args),
        Command::Reindex { config } => commands::search::reindex(config),
        Command::Demo { listen } => commands::demo(*listen),
        Command::Cluster(command) => commands::cluster::cluster(command),
        Command::Rebuild(args) => maintenance::rebuild(args),
        Command::Reparse(args) => commands::reparse(args),
        Command::Verify { config } => maintenance::verify(config),
        Command::Migrate { config } => maintenance::migrate(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gazette: {err:#}");
            if let Some(daemon) = err.downcast_ref::<gazette::daemon::DaemonError>() {
                ExitCode::from(daemon.exit_status())
            } else if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// glibc raises its mmap threshold each time a large block is freed, so after the first
/// multi-megabyte feed is rendered, later ones come from the heap and fragment it: `serve` then
/// holds twice its caches. A fixed threshold keeps large blocks in mmap, returned when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fixed_mmap_threshold() {
    // SAFETY: mallopt only changes an allocator setting; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fixed_mmap_threshold() {}

/// Hands the memory freed so far back to the system. glibc keeps freed blocks in the arena of
/// the thread that allocated them, where other threads do not reuse them: after a backfill, what
/// its fetching threads freed would stay resident under the search index built next.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn give_back_freed_memory() {
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn give_back_freed_memory() {}
