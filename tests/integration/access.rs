//! Reaching the archive from the command line: read commands never create one, a failed export
//! or import changes nothing, and while `gazette serve` holds the archive the read commands get
//! the same answers through it and the writing ones say who holds it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Serve, explain};

const TOKEN: &str = "export-s3cret";

/// Runs gazette with `envs` set and the admin token variable otherwise unset.
fn gazette_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
    command
        .args(args)
        .current_dir(support::root())
        .env_remove("GAZETTE_ADMIN_TOKEN")
        .env_remove("RUST_LOG");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("the gazette binary runs")
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = gazette_with(args, envs);
    assert!(out.status.success(), "{}", explain(args, &out));
    out
}

/// Exit 1 with exactly one line on stderr, `gazette: ` and a message holding `expected`.
fn assert_fails_with(args: &[&str], envs: &[(&str, &str)], expected: &str) -> String {
    let out = gazette_with(args, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", explain(args, &out));
    assert!(stderr.contains(expected), "{}", explain(args, &out));
    assert_eq!(stderr.lines().count(), 1, "{}", explain(args, &out));
    assert!(
        !stderr.contains("{ ") && !stderr.contains("Os {"),
        "a Debug dump: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", explain(args, &out));
    stderr
}

/// A config like the portal's with the archive at `archive`, written into `dir`.
fn config_at(portal_config: &Path, archive: &Path, dir: &Path) -> String {
    let text = std::fs::read_to_string(portal_config).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["storage"]["path"] = toml_edit::value(archive.display().to_string());
    let path = dir.join("other.toml");
    std::fs::write(&path, doc.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn read_commands_on_a_mistyped_path_create_nothing_and_keep_the_backup() {
    let portal = support::TestPortal::recorded().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("archve");
    let config = config_at(&portal.config_path, &missing, dir.path());
    let backup = dir.path().join("backup.jsonl");
    std::fs::write(&backup, "the backup of last week\n").unwrap();
    let message = format!(
        "gazette: no archive at {} (crawl first, or check storage.path)",
        missing.display()
    );
    let backup_arg = backup.to_str().unwrap();
    let commands: [&[&str]; 10] = [
        &["export", "--config", &config, "--out", backup_arg],
        &["export", "--config", &config, "--raw"],
        &["query", "--config", &config],
        &["show", "--config", &config, "bqlkkt:1234"],
        &["show", "--config", &config, "bqlkkt:1234", "--revisions"],
        &["search", "--config", &config, "ha tien"],
        &["verify", "--config", &config],
        &["reindex", "--config", &config],
        &["reparse", "--config", &config],
        &["check", "--config", &config, "--health"],
    ];
    for args in commands {
        let stderr = assert_fails_with(args, &[], &message);
        assert_eq!(stderr.trim_end(), message);
        assert!(
            !missing.exists(),
            "gazette {} created the archive",
            args.join(" ")
        );
    }
    // An empty directory is no archive either, and stays empty.
    std::fs::create_dir(&missing).unwrap();
    for args in commands {
        assert_fails_with(args, &[], &message);
        assert_eq!(std::fs::read_dir(&missing).unwrap().count(), 0);
    }
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "the backup of last week\n"
    );
    assert!(!dir.path().join("backup.jsonl.partial").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_checks_every_line_before_restoring_anything() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    tokio::task::spawn_blocking({
        let config = config.clone();
        move || run(&["crawl", "--config", &config], &[])
    })
    .await
    .unwrap();
    let good = portal.dir.path().join("good.jsonl");
    run(
        &[
            "export",
            "--config",
            &config,
            "--raw",
            "--out",
            good.to_str().unwrap(),
        ],
        &[],
    );
    let text = std::fs::read_to_string(&good).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(!portal.dir.path().join("good.jsonl.partial").exists());

    // Through a link, the file it names is replaced and the link stays; what is not a file
    // (here the command's own stdout, a pipe) is written to as it is.
    let linked = portal.dir.path().join("linked.jsonl");
    std::fs::write(&linked, "last week's\n").unwrap();
    let link = portal.dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&linked, &link).unwrap();
    let export_to =
        |out: &str| ["export", "--config", &config, "--raw", "--out", out].map(String::from);
    let args = export_to(link.to_str().unwrap());
    run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(link.is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read_to_string(&linked).unwrap(), text);
    // A link to a file not there yet: the file is made where it points.
    std::fs::remove_file(&linked).unwrap();
    run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(link.is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read_to_string(&linked).unwrap(), text);
    let args = export_to("/dev/fd/1");
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);

    // Line 5 is cut short, line 7 has a capture that is not base64.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let half = lines[4].len() / 2;
    lines[4].truncate(half);
    lines[6] = lines[6].replacen("\"raw_base64\":\"", "\"raw_base64\":\"!!", 1);
    let bad = portal.dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("restored");
    let other = config_at(&portal.config_path, &target, dir.path());
    let import = |file: &Path| {
        vec![
            "import".to_string(),
            "--config".into(),
            other.clone(),
            "--in".into(),
            file.to_str().unwrap().into(),
        ]
    };
    let args = import(&bad);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stderr = assert_fails_with(&args, &[], "gazette: import: line 5: ");
    assert!(!target.exists(), "a failed import left {stderr}");
    assert!(!dir.path().join("restored.import-staging").exists());

    // Into an existing empty archive: it stays empty; the base64 line is named once line 5 is good.
    lines[4] = text.lines().nth(4).unwrap().to_string();
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    // (An import of nothing makes an empty archive; a separate process, so its lock is gone.)
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let args_empty = import(&empty);
    let args_empty: Vec<&str> = args_empty.iter().map(String::as_str).collect();
    run(&args_empty, &[]);
    assert!(target.join("db").is_dir());
    assert_fails_with(&args, &[], "gazette: import: line 7: ");
    let listed = run(&["query", "--config", &other, "--format", "jsonl"], &[]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim_end(), "");
    assert!(!dir.path().join("restored.import-staging").exists());

    // An article twice is named at its second line.
    let twice = text.clone() + text.lines().nth(2).unwrap() + "\n";
    std::fs::write(&bad, twice).unwrap();
    assert_fails_with(&args, &[], "gazette: import: line 10: article bqlkkt:");

    // An article without an id, and a revision of another article, are named too.
    let mut entry: serde_json::Value = serde_json::from_str(text.lines().nth(3).unwrap()).unwrap();
    let id = entry["archived"]["article"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut without_id = entry.clone();
    without_id["archived"]["article"]["id"] = "".into();
    entry["revisions"][0]["article"]["id"] = "bqlkkt:1".into();
    for (line, expected) in [
        (
            without_id,
            "gazette: import: line 4: an article without an id".to_string(),
        ),
        (
            entry,
            format!("gazette: import: line 4: article {id}: revision 1 is of article bqlkkt:1"),
        ),
    ] {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[3] = line.to_string();
        std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
        let stderr = assert_fails_with(&args, &[], &expected);
        assert_eq!(stderr.trim_end(), expected);
    }

    // The fixed file imports (`--in -`: from stdin), and exports the same bytes again.
    let args = import(Path::new("-"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(&args)
        .stdin(std::fs::File::open(&good).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", explain(&args, &out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "imported 9 article(s)"
    );
    let again = run(&["export", "--config", &other, "--raw"], &[]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
    // And a second import is refused: the archive is no longer empty.
    assert_fails_with(&args, &[], "the archive is not empty");
}

#[tokio::test(flavor = "multi_thread")]
async fn while_serve_runs_reads_go_through_it_and_writes_are_refused() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    tokio::task::spawn_blocking({
        let config = config.clone();
        move || run(&["crawl", "--config", &config], &[])
    })
    .await
    .unwrap();
    let out_file = portal.dir.path().join("out.jsonl");
    let out_arg = out_file.to_str().unwrap().to_string();
    let token = [("GAZETTE_ADMIN_TOKEN", TOKEN)];
    let reads: Vec<Vec<&str>> = vec![
        vec!["query", "--config", &config],
        vec![
            "query", "--config", &config, "--format", "jsonl", "--limit", "3",
        ],
        vec![
            "query",
            "--config",
            &config,
            "--source",
            "bqlkkt",
            "--since",
            "2020-06-25",
            "--until",
            "2020-06-30T23:59:59+07:00",
            "--format",
            "csv",
        ],
        vec!["show", "--config", &config, "bqlkkt:1234"],
        vec!["show", "--config", &config, "bqlkkt:1234", "--revisions"],
        vec!["show", "--config", &config, "bqlkkt:1180", "--raw", "1"],
        vec!["export", "--config", &config],
        vec!["export", "--config", &config, "--raw"],
        vec!["search", "--config", &config, "khu kinh tế"],
        vec![
            "search",
            "--config",
            &config,
            "khu kinh te",
            "--format",
            "csv",
            "--limit",
            "2",
        ],
        vec![
            "search",
            "--config",
            &config,
            "\"kinh tế\" -Phú",
            "--source",
            "bqlkkt",
            "--since",
            "2020-06-01",
            "--newest",
            "--format",
            "jsonl",
        ],
    ];
    let read_all = || -> Vec<(Vec<u8>, String)> {
        reads
            .iter()
            .map(|args| {
                let out = run(args, &token);
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                (out.stdout, stderr)
            })
            .collect()
    };
    let export_to_file = || {
        run(
            &["export", "--config", &config, "--raw", "--out", &out_arg],
            &token,
        );
        std::fs::read(&out_file).unwrap()
    };

    let archive_path = &portal.config.storage.path;
    let pid_file = gazette::daemon::ServeRecord::path(archive_path);
    let mut serve = Serve::start(&config, &[("GAZETTE_ADMIN_TOKEN", TOKEN)]);
    let record: gazette::daemon::ServeRecord =
        serde_json::from_slice(&std::fs::read(&pid_file).expect("serve writes its pid file"))
            .unwrap();
    assert_eq!(record.pid, serve.child.id());
    assert_eq!(record.listen.to_string(), serve.addr);

    // Searches go through the server once its index is open (it opens while feeds are served).
    let search_url = format!("http://{}/api/search?q=kinh", serve.addr);
    let waited = std::time::Instant::now();
    while reqwest::get(&search_url).await.unwrap().status() != 200 {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(20),
            "the served search index did not open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let served = tokio::task::block_in_place(read_all);
    let served_file = export_to_file();
    assert!(!served_file.is_empty());

    // The export endpoint: the admin token, then the same bytes as the command.
    let export_url = format!("http://{}/api/export?raw=true", serve.addr);
    let client = reqwest::Client::new();
    let status = client.get(&export_url).send().await.unwrap().status();
    assert_eq!(status, 401);
    let status = client
        .get(&export_url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let streamed = client
        .get(&export_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 200);
    assert_eq!(streamed.bytes().await.unwrap().to_vec(), served_file);
    // The scheme's name is case-insensitive.
    let status = client
        .get(&export_url)
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let status = client
        .get(format!("http://{}/api/export?raw=yes", serve.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let unknown = format!("http://{}/api/articles/bqlkkt:9999/revisions", serve.addr);
    assert_eq!(client.get(&unknown).send().await.unwrap().status(), 404);

    // Export through the server needs the token; the old file is kept when it is missing.
    let stderr = assert_fails_with(
        &["export", "--config", &config, "--out", &out_arg],
        &[],
        "needs the admin token: set GAZETTE_ADMIN_TOKEN",
    );
    assert!(stderr.contains(&format!("pid {}", record.pid)), "{stderr}");
    assert_eq!(std::fs::read(&out_file).unwrap(), served_file);
    assert!(!portal.dir.path().join("out.jsonl.partial").exists());

    // Writing commands name the server; only a crawl has a stand-in there, the others are
    // told to stop it first.
    let in_use = |instead: &str| {
        format!(
            "gazette: the archive is in use by gazette serve (pid {}, listening on {}); stop it{instead}",
            record.pid, serve.addr
        )
    };
    let good = out_arg.clone();
    for (args, instead) in [
        (
            vec!["crawl", "--config", config.as_str()],
            ", or use POST /api/sources/ID/crawl",
        ),
        (
            vec!["import", "--config", config.as_str(), "--in", good.as_str()],
            " before importing",
        ),
        (vec!["serve", "--config", config.as_str()], ""),
        (
            vec!["reparse", "--config", config.as_str()],
            " before reparsing",
        ),
        (
            vec!["reparse", "--config", config.as_str(), "--dry-run"],
            " before reparsing",
        ),
        (
            vec!["rebuild", "--config", config.as_str()],
            " before rebuilding",
        ),
        (
            vec!["rebuild", "--config", config.as_str(), "--reparse"],
            " before rebuilding",
        ),
        (
            vec!["migrate", "--config", config.as_str()],
            " before migrating",
        ),
    ] {
        let in_use = in_use(instead);
        let stderr = assert_fails_with(&args, &token, &in_use);
        assert_eq!(stderr.trim_end(), in_use, "{args:?}");
    }
    // Those that need the archive to themselves without writing it are told to stop it.
    let stop_it = format!(
        "gazette: the archive is in use by gazette serve (pid {}, listening on {}); stop it",
        record.pid, serve.addr
    );
    for args in [
        vec!["verify", "--config", config.as_str()],
        vec!["reindex", "--config", config.as_str()],
    ] {
        let stderr = assert_fails_with(&args, &token, &stop_it);
        assert_eq!(stderr.trim_end(), stop_it);
    }
    let args = ["check", "--config", config.as_str(), "--health"];
    assert_fails_with(
        &args,
        &[],
        "its /healthz tells each source's selector health",
    );
    let args = ["show", "--config", &config, "bqlkkt:9999"];
    assert_fails_with(&args, &[], "no article \"bqlkkt:9999\" in the archive");
    let args = ["show", "--config", &config, "bqlkkt:1234", "--raw", "2"];
    assert_fails_with(
        &args,
        &[],
        "article bqlkkt:1234 has no revision 2 (it has 1)",
    );

    let searched = |k: usize| String::from_utf8_lossy(&served[k].0).into_owned();
    assert!(searched(8).contains("bqlkkt:"), "{}", searched(8));
    assert!(
        searched(9).starts_with("id,published,title"),
        "{}",
        searched(9)
    );
    // A query with nothing to look for, or a limit out of range, is a usage error (exit 2),
    // told the same through the server as without it.
    let refusals: [&[&str]; 4] = [
        &["search", "--config", &config, "--", "-kinh"],
        &["search", "--config", &config, ""],
        &["search", "--config", &config, "kinh", "--limit", "0"],
        &["search", "--config", &config, "kinh", "--limit", "501"],
    ];
    let refuse_all = || -> Vec<(Option<i32>, String)> {
        refusals
            .iter()
            .map(|args| {
                let out = gazette_with(args, &[]);
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                assert_eq!(out.status.code(), Some(2), "{}", explain(args, &out));
                (out.status.code(), stderr)
            })
            .collect()
    };
    let refused = refuse_all();
    assert!(
        refused[0].1.contains("nothing to search for"),
        "{refused:?}"
    );
    assert!(
        refused[1].1.contains("nothing to search for"),
        "{refused:?}"
    );
    assert!(
        refused[2]
            .1
            .contains("--limit: expected a whole number from 1 to 500, got 0"),
        "{refused:?}"
    );

    serve.stop();
    assert!(!pid_file.exists(), "a clean stop removes the pid file");
    let local = tokio::task::block_in_place(read_all);
    for ((args, (served_out, served_err)), (local_out, local_err)) in
        reads.iter().zip(&served).zip(&local)
    {
        assert_eq!(
            String::from_utf8_lossy(served_out),
            String::from_utf8_lossy(local_out),
            "gazette {}",
            args.join(" ")
        );
        assert_eq!(served_err, local_err, "gazette {}", args.join(" "));
    }
    assert_eq!(export_to_file(), served_file);
    assert_eq!(refuse_all(), refused);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_pid_file_is_replaced_and_an_archive_held_by_a_command_gets_one_line() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    let archive_path = portal.config.storage.path.clone();
    // The record of a server that died: a pid that no process has.
    let pid_file = gazette::daemon::ServeRecord::path(&archive_path);
    std::fs::write(&pid_file, r#"{"pid":4194305,"listen":"127.0.0.1:9"}"#).unwrap();
    // This process holds the archive, as a running `gazette crawl` would.
    let held = portal.open_archive();
    for args in [
        vec!["query", "--config", config.as_str()],
        vec!["crawl", "--config", config.as_str()],
    ] {
        let stderr = assert_fails_with(
            &args,
            &[],
            "the archive is open in another gazette command; try again when it has finished",
        );
        assert!(
            stderr.contains(&archive_path.display().to_string()),
            "{stderr}"
        );
    }
    drop(held);
    // sled lets go of its lock when its flusher thread notices: wait for a command to get it.
    let started = Instant::now();
    while !gazette_with(&["query", "--config", &config], &[])
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lock is never released"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut serve = Serve::start(&config, &[("GAZETTE_ADMIN_TOKEN", TOKEN)]);
    let record: gazette::daemon::ServeRecord =
        serde_json::from_slice(&std::fs::read(&pid_file).unwrap()).unwrap();
    assert_eq!(record.pid, serve.child.id(), "the stale record is replaced");
    let out = run(&["query", "--config", &config], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "[]");
    serve.stop();
    assert!(!pid_file.exists());
}

/// An archive imported from an export made without `--raw` holds no captured pages: `show --raw`
/// says so, not that the revision is missing.
#[tokio::test(flavor = "multi_thread")]
async fn show_raw_of_a_revision_without_its_page_says_so() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.jsonl");
    let other = config_at(
        &portal.config_path,
        &dir.path().join("restored"),
        dir.path(),
    );
    tokio::task::spawn_blocking(move || {
        run(&["crawl", "--config", &config], &[]);
        let out = plain.to_str().unwrap();
        run(&["export", "--config", &config, "--out", out], &[]);
        run(&["import", "--config", &other, "--in", out], &[]);
        let args = ["show", "--config", &other, "bqlkkt:1234", "--raw", "1"];
        let stderr = assert_fails_with(&args, &[], "");
        assert_eq!(
            stderr.trim_end(),
            "gazette: article bqlkkt:1234 revision 1 has no captured page"
        );
    })
    .await
    .unwrap();
}
