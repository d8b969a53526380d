//! `export` and `import`: the backup and migration path, written so that a failure changes
//! nothing (no truncated backup, no half-imported archive).

use gazette::archive::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gazette::archive::{self, Archive, ArchiveError, SledArchive};
use gazette::config::{self, Config};

use super::{Reader, open_for_reading, open_for_writing};
use crate::cli::{ExportArgs, ImportArgs};

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    if args.wacz.is_some() || args.cdxj.is_some() {
        return super::package::export(args);
    }
    let config = config::load(&args.config)?;
    let reader = open_for_reading(&config)?;
    let write = |out: &mut dyn Write| match &reader {
        Reader::Local(archive) => Ok(archive::export(archive, args.raw, out)?),
        Reader::Served(served) => served.export(
            config.server.admin_token().as_deref(),
            config.server.admin_token_env.as_deref(),
            args.raw,
            out,
        ),
    };
    let count = match &args.out {
        Some(path) => write_whole(path, write)?,
        None => write(&mut std::io::BufWriter::new(std::io::stdout().lock()))?,
    };
    eprintln!("exported {count} article(s)");
    Ok(())
}

/// Writes `path` through `FILE.partial`, renamed over it only once everything is written, so a
/// failed write never leaves a truncated file where a good one was. A symbolic link is followed
/// (the file it names is replaced; the link stays), and what is not a file (`/dev/stdout`, a
/// pipe) is written to as it is.
pub(super) fn write_whole(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<usize>,
) -> anyhow::Result<usize> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        let count = write(&mut out)?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(count);
    }
    write_file(path, |out| write(out))
}

/// [`write_whole`] for a file only, which `write` may seek in (a ZIP is written so); what is not
/// a file is refused.
pub(super) fn write_file<T>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let path = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            bail!(
                "{}: not a file, and this is written only to a file",
                path.display()
            )
        }
        Ok(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        // A link to a file not yet there: the file is made where the link points.
        Err(_) => match std::fs::read_link(path) {
            Ok(target) => path.parent().unwrap_or(Path::new("")).join(target),
            Err(_) => path.to_path_buf(),
        },
    };
    let path = path.as_path();
    let partial = beside(path, ".partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let written = write(&mut out).and_then(|count| {
        let file = out
            .into_inner()
            .map_err(|err| err.into_error())
            .with_context(|| format!("cannot write {}", partial.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, path).with_context(|| {
            format!("cannot rename {} to {}", partial.display(), path.display())
        })?;
        Ok(count)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// `path` with `suffix` appended to its last component (`data/archive` -> `data/archive.pid`).
pub(super) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.components().as_path().as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Restores an export all or nothing: every line is checked first, then restored into a staging
/// archive beside the target, which replaces the (absent or empty) target only when complete.
pub fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    super::alone_only(&config, "import")?;
    let target = &config.storage.path;
    // Anything but an absent path or an empty directory is opened, and refused unless an empty
    // archive (a file, a foreign directory, an archive in use, one with articles).
    let occupied = match std::fs::read_dir(target) {
        Ok(mut entries) => entries.next().is_some(),
        Err(err) => err.kind() != std::io::ErrorKind::NotFound,
    };
    // Held open until the swap, so that nothing writes into it meanwhile.
    let existing = if occupied {
        let archive = open_for_writing(&config, " before importing")?;
        if !archive.is_empty()? {
            bail!(
                "{}: the archive is not empty: import restores into an empty archive only",
                target.display()
            );
        }
        Some(archive)
    } else {
        None
    };
    // The export is read twice (checked, then restored): stdin is kept in a file meanwhile.
    let spooled = beside(target, ".import-stdin.jsonl");
    // `--in -` is stdin, as the option's absence is.
    let from_file = args.input.as_ref().filter(|path| path.as_os_str() != "-");
    let input = match from_file {
        Some(path) => path.clone(),
        None => {
            if let Some(parent) = spooled.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let kept = std::fs::File::create(&spooled).and_then(|mut file| {
                std::io::copy(&mut std::io::stdin().lock(), &mut file)?;
                file.sync_all()
            });
            if let Err(err) = kept {
                let _ = std::fs::remove_file(&spooled);
                return Err(err)
                    .with_context(|| format!("cannot keep stdin in {}", spooled.display()));
            }
            spooled.clone()
        }
    };
    let staging = beside(target, ".import-staging");
    let result = import_into(&config, &input, &staging, existing);
    if from_file.is_none() {
        let _ = std::fs::remove_file(&spooled);
    }
    let count = result?;
    archive::settle(&config.storage);
    eprintln!("imported {count} article(s)");
    Ok(())
}

fn import_into(
    config: &Config,
    input: &Path,
    staging: &Path,
    existing: Option<SledArchive>,
) -> anyhow::Result<usize> {
    let target = &config.storage.path;
    let read = || -> anyhow::Result<std::io::BufReader<std::fs::File>> {
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot open {}", input.display()))?;
        Ok(std::io::BufReader::new(file))
    };
    archive::validate_lines(&mut read()?)?;
    let staging_config = config::StorageConfig {
        path: staging.to_path_buf(),
        ..config.storage.clone()
    };
    if staging.exists() {
        // Left by an import that was killed (it never replaced anything), unless one is running.
        if let Err(ArchiveError::Locked { .. }) = archive::open(&staging_config) {
            bail!(
                "{}: another import into {} is under way",
                staging.display(),
                target.display()
            );
        }
        std::fs::remove_dir_all(staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    let staged = archive::open(&staging_config)?;
    let restored = read().and_then(|mut input| {
        archive::restore_lines(&staged, &mut input)
            .and_then(|count| staged.flush().map(|()| count))
            .map_err(anyhow::Error::from)
    });
    drop(staged);
    let restored = match restored {
        Ok(count) => count,
        Err(err) => {
            let _ = std::fs::remove_dir_all(staging);
            bail!(
                "{err:#}; nothing was imported, {} is as it was",
                target.display()
            );
        }
    };
    let swapped = (|| -> anyhow::Result<()> {
        if let Some(existing) = existing {
            drop(existing);
            // An empty archive (checked above), replaced by the restored one.
            std::fs::remove_dir_all(target).with_context(|| {
                format!("cannot replace the empty archive {}", target.display())
            })?;
        } else if target.exists() {
            // Absent or empty when the import began: another command made an archive there
            // meanwhile, which is left alone.
            let occupied = std::fs::read_dir(target).map_or(true, |mut e| e.next().is_some());
            if occupied {
                bail!(
                    "an archive appeared at {} while importing (another gazette command made it)",
                    target.display()
                );
            }
            std::fs::remove_dir(target).with_context(|| {
                format!("cannot replace the empty directory {}", target.display())
            })?;
        }
        std::fs::rename(staging, target).with_context(|| {
            format!(
                "cannot move the restored archive {} to {}",
                staging.display(),
                target.display()
            )
        })
    })();
    if let Err(err) = swapped {
        let _ = std::fs::remove_dir_all(staging);
        bail!("{err:#}; nothing was imported");
    }
    Ok(restored)
}
