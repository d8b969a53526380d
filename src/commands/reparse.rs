//! `gazette reparse`: the stored captures extracted again with the current profile; a dry run
//! shows what would change, field by field.

use gazette::archive;
use gazette::config;
use gazette::crawl::reparse::{Reparsed, reparse as reparse_archive};

use crate::cli::ReparseArgs;

pub fn reparse(args: &ReparseArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    if !args.dry_run {
        super::alone_only(&config, "reparse")?;
    }
    let sources = match &args.source {
        Some(id) => vec![super::find_source(&config, id)?],
        None => config.sources.iter().collect(),
    };
    // Writing or not, the captures are read from the archive itself: refused while held.
    let archive = super::open_alone(&config, " before reparsing")?;
    let at = chrono::Utc::now().fixed_offset();
    let reparsed = reparse_archive(&archive, &sources, !args.dry_run, at)?;
    if reparsed.revisions > 0 {
        drop(archive);
        archive::settle(&config.storage);
    }
    super::print(report(&reparsed, args.dry_run).trim_end())?;
    for skipped in &reparsed.skipped {
        eprintln!("  not read again: {skipped}");
    }
    Ok(())
}

fn report(reparsed: &Reparsed, dry_run: bool) -> String {
    let mut out = if dry_run {
        format!(
            "dry run: {} article(s) read again, {} would change (nothing written)\n",
            reparsed.articles, reparsed.changed
        )
    } else {
        format!(
            "{} article(s) read again, {} changed: {} new revision(s) caused by reparse\n",
            reparsed.articles, reparsed.changed, reparsed.revisions
        )
    };
    for (field, changes) in &reparsed.fields {
        out.push_str(&format!("{field}: {} article(s)\n", changes.articles));
        for example in &changes.examples {
            out.push_str(&format!(
                "  {}: {:?} -> {:?}\n",
                example.id, example.old, example.new
            ));
        }
    }
    out
}
