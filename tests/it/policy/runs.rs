//! Deploy plans and `--to`, dry runs, notifications, refusals that come before anything,
//! and I/O errors.

use super::*;

fn history_ids(p: &Project) -> Vec<String> {
    p.db.history().into_iter().map(|(v, _)| v).collect()
}

/// `plan --to V` and `deploy --to V` stop at V (the expand step ships before its contract
/// step); `deploy --plan FILE` runs exactly the plan's migrations, stops where the plan
/// stops, and refuses a plan the files or the command line no longer match.
fn plans_and_to_stop_at_the_version(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["plan", "--to", "0001", "--out", "expand.json"]);
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(p.db.path().join("expand.json")).unwrap())
            .unwrap();
    assert_eq!(plan["to"], "0001");
    assert_eq!(plan["migrations"].as_array().unwrap().len(), 1, "{plan:#}");
    p.ok(&["deploy", "--plan", "expand.json", "--yes"]);
    assert_eq!(history_ids(&p), ["0001"], "the plan stops at 0001");

    p.ok(&["deploy", "--to", "0002", "--yes"]);
    assert_eq!(
        history_ids(&p),
        ["0001", "0002"],
        "deploy --to stops at 0002"
    );
    assert!(!p.db.has_table("extra"));

    // The plan for the contract step: a planned file edited since is refused, and so is
    // a plan with a migration taken out by hand, or deployed with another --to.
    p.ok(&["plan", "--out", "contract.json"]);
    let original =
        std::fs::read_to_string(p.db.path().join("migrations/0003_extra.up.sql")).unwrap();
    write_files(
        p.db.path(),
        &[(
            "migrations/0003_extra.up.sql",
            "CREATE TABLE extra (id BIGINT);\n",
        )],
    );
    let refused = |args: &[&str], why: &str| {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(10), "{args:?}\n{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{args:?}\n{}", stderr(&out));
        assert!(!p.db.has_table("extra"), "{args:?} applied something");
    };
    refused(
        &["deploy", "--plan", "contract.json", "--yes"],
        "the plan is stale",
    );
    write_files(p.db.path(), &[("migrations/0003_extra.up.sql", &original)]);
    refused(
        &["deploy", "--plan", "contract.json", "--to", "0002", "--yes"],
        "the plan stops at the newest migration, this deploy at 0002",
    );
    let text = std::fs::read_to_string(p.db.path().join("contract.json")).unwrap();
    let mut edited: Value = serde_json::from_str(&text).unwrap();
    edited["migrations"] = Value::Array(Vec::new());
    std::fs::write(p.db.path().join("edited.json"), edited.to_string()).unwrap();
    refused(
        &["deploy", "--plan", "edited.json", "--yes"],
        "the plan is stale",
    );
    p.ok(&["deploy", "--plan", "contract.json", "--yes"]);
    assert_eq!(history_ids(&p), ["0001", "0002", "0003"]);
}

/// `deploy --dry-run` writes nothing to the target (no history table, no cutover_runs
/// row, on SQLite not even the file) and notifies nobody, also when it fails.
fn deploy_dry_run_leaves_no_trace(kind: Kind) {
    let p = Project::new(kind, "");
    let out = p.ok(&["deploy", "--dry-run"]);
    assert!(
        stdout(&out).contains("3 migration(s) would apply; nothing was changed"),
        "{}",
        stdout(&out)
    );
    assert!(!p.left_a_trace(), "a dry run wrote to the target");
    assert!(p.backups().is_empty());
    assert!(p.hooks().is_empty(), "{:?}", p.hooks());

    p.append(&format!(
        "[[environments.prod.preflight]]\nhttp = \"{}/broken\"\n",
        p.app.base
    ));
    let out = p.run(&["deploy", "--dry-run"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));
    assert!(!p.left_a_trace(), "a failed dry run wrote to the target");
    assert!(
        p.hooks().is_empty(),
        "a failed dry run notified: {:?}",
        p.hooks()
    );
}

/// A rollback is one message per notification target (event `rollback`): a target that
/// wants failures gets it once, and the `start` message does not claim success.
fn one_rollback_one_message(kind: Kind) {
    let p = Project::new(kind, "");
    p.append(
        "[[environments.prod.notify]]\ncommand = \"cat >> failures.jsonl; echo >> failures.jsonl\"\non = [\"failure\"]\n",
    );
    p.ok(&["migrate", "--to", "0002"]);
    write_files(
        p.db.path(),
        &[
            (
                "migrations/0004_broken.up.sql",
                "INSERT INTO no_such_table VALUES (1);\n",
            ),
            ("migrations/0004_broken.down.sql", "SELECT 1;\n"),
        ],
    );
    let out = p.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(!p.db.has_table("extra"), "0003 was undone");
    assert_eq!(
        p.hook_log(),
        "before\nafter\n",
        "the deploy's undo runs both rollback hooks, as `rollback --run` does"
    );
    let hooks = p.hooks();
    let events: Vec<&str> = hooks.iter().map(|h| h["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["start", "rollback"], "{hooks:#?}");
    assert_ne!(hooks[0]["outcome"], "success", "{:#}", hooks[0]);
    assert_ne!(hooks[0]["text"], hooks[1]["text"]);
    let failures = std::fs::read_to_string(p.db.path().join("failures.jsonl")).unwrap();
    let failures: Vec<Value> = failures
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["event"], "rollback");
}

per_engine!(
    plans_and_to_stop_at_the_version,
    deploy_dry_run_leaves_no_trace,
    one_rollback_one_message,
);

/// A `--skip-backup` the policy forbids is refused before anything: before the approval
/// (no "pass --yes"), before the start notification (no webhook at all), for a deploy, a
/// rollback and a restore.
#[test]
fn forbidden_skip_backup_is_refused_first() {
    let p = Project::new(Kind::Sqlite, "");
    let out = p.run(&["deploy", "--skip-backup"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--skip-backup is refused"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("approval"), "{}", stderr(&out));
    assert!(p.hooks().is_empty(), "{:?}", p.hooks());
    assert!(!p.left_a_trace());

    p.ok(&["migrate"]);
    let out = p.run(&["rollback", "--skip-backup"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--skip-backup is refused") && !stderr(&out).contains("approval"),
        "{}",
        stderr(&out)
    );
    assert!(p.db.has_table("extra"));
    p.ok(&["backup", "create"]);
    let file = format!("backups/{}", p.backups()[0]);
    let out = p.run(&["backup", "restore", &file, "--no-safety-backup"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(!stderr(&out).contains("approval"), "{}", stderr(&out));
    assert!(p.hooks().is_empty(), "{:?}", p.hooks());
    assert_eq!(p.run_rows(), 0, "nothing started, nothing recorded");
}

/// I/O errors are exit 9 (or a warning), never 2 ("bad input"): a report folder or a
/// backup folder under a regular file.
#[test]
fn io_errors_are_exit_9() {
    let p = Project::new(Kind::Sqlite, "");
    write_files(p.db.path(), &[("afile", "not a folder\n")]);
    p.ok(&["migrate", "--to", "0002"]);
    let before = p.state();
    for args in [
        &["deploy", "--yes", "--report-dir", "afile/reports"][..],
        &["rollback", "--yes", "--report-dir", "afile/reports"][..],
        &["backup", "create", "--dir", "afile/backups"][..],
    ] {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(9), "{args:?}\n{}", stderr(&out));
        assert!(stderr(&out).contains("afile"), "{args:?}\n{}", stderr(&out));
        assert_eq!(p.state(), before, "{args:?} changed the target");
    }
    assert!(p.hooks().is_empty(), "{:?}", p.hooks());
    // The policy's backup folder is under a regular file: the safety backup cannot be
    // written, and the rollback stops before changing anything.
    let config = std::fs::read_to_string(p.db.path().join("cutover.toml")).unwrap();
    write_files(
        p.db.path(),
        &[(
            "cutover.toml",
            &config.replace("dir = \"backups\"", "dir = \"afile/backups\""),
        )],
    );
    let out = p.run(&["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert_eq!(p.state(), before);
}

/// `runs list` on a target whose cutover_runs cannot be read says so (exit 3), instead of
/// "no run has been recorded".
#[test]
fn unreadable_runs_are_an_error() {
    let p = Project::new(Kind::Sqlite, "");
    p.ok(&["migrate"]);
    // A cutover_runs that exists but fails when read.
    p.db.connect()
        .execute("CREATE VIEW cutover_runs AS SELECT * FROM gone_table")
        .unwrap();
    let out = p.run(&["runs", "list"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("cutover_runs"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("no run"), "{}", stdout(&out));
}

/// Records edited by hand with multi-byte text where a time should be (a run's row, a
/// backup's manifest) are listed as they are, never a panic.
#[test]
fn hand_edited_records_do_not_panic() {
    let p = Project::new(Kind::Sqlite, "");
    p.ok(&["migrate"]);
    p.ok(&["rollback", "--yes"]);
    let odd = "2026-11-29T23:22:4é8Z";
    p.db.connect()
        .execute(&format!("UPDATE cutover_runs SET started_at = '{odd}'"))
        .unwrap();
    let out = p.ok(&["runs", "list"]);
    assert!(
        stdout(&out).contains("2026-11-29T23:22:4"),
        "{}",
        stdout(&out)
    );

    let manifest =
        p.db.path()
            .join("backups")
            .join(format!("{}.json", p.backups()[0]));
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["created_at"] = odd.into();
    m["verifications"][0]["at"] = odd.into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let out = p.ok(&["backup", "list"]);
    assert!(
        stdout(&out).contains("2026-11-29T23:22:4"),
        "{}",
        stdout(&out)
    );
}

/// A backup that cannot be written whole (the disk is "full") is exit 9, for `backup
/// create` and for the safety backup of a rollback, which then changes nothing.
#[test]
fn a_full_disk_during_a_backup_is_exit_9() {
    let p = Project::new(Kind::Postgres, "");
    p.ok(&["migrate"]);
    // Enough data that the dump outgrows the limit.
    p.db.connect()
        .execute("INSERT INTO items (id, note) SELECT g, left(md5(g::text), 20) FROM generate_series(1, 20000) g")
        .unwrap();
    let before = p.state();
    for args in [&["backup", "create"][..], &["rollback", "--yes"][..]] {
        let out = p.limited(8, args);
        assert_eq!(out.status.code(), Some(9), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("File too large"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(p.state(), before);
    assert!(
        p.backups().is_empty(),
        "no partial backup is left: {:?}",
        p.backups()
    );
}

/// A deploy whose seed fails is rolled back (exit 11): the seed kept nothing (its own
/// transaction), so the migrations' down scripts undo the run, even where the policy
/// refuses to restore a backup once the application has served traffic.
fn a_failing_seed_rolls_the_deploy_back(kind: Kind) {
    let p = Project::new(kind, "");
    write_files(
        p.db.path(),
        &[(
            "seeds/01_items.sql",
            "INSERT INTO items (id) VALUES (1);\nINSERT INTO nowhere VALUES (1);\n",
        )],
    );
    let out = p.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("01_items.sql:2"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("undo: ran the down scripts of 0001, 0002, 0003"),
        "{}",
        stderr(&out)
    );
    // Exit 11 says cutover proved the schema back to its pre-deploy fingerprint.
    assert!(!p.db.has_table("items") && !p.db.has_table("extra"));
}

per_engine!(a_failing_seed_rolls_the_deploy_back);
