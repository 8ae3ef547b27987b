//! What a run shows while it works and what it keeps: the watch window's line per round,
//! passing checks with `-v`, server notices, the journal's every event, a journal that
//! cannot be written, and the audit row of a failure whose text has quotes and backslashes.

use super::*;

/// Preflight, verify, smoke and watch checks that pass.
fn with_checks(p: &Project, watch: &str) {
    let base = &p.app.base;
    p.append(&format!(
        r#"
[[environments.prod.preflight]]
name = "app healthy"
http = "{base}/health"

[[environments.prod.verify]]
name = "items counted"
sql = "SELECT count(*) FROM items"
expect = "< 100"

[[environments.prod.smoke]]
name = "course list"
http = "{base}/api/courses"
body_contains = "English"

[environments.prod.watch]
{watch}

[[environments.prod.watch.checks]]
name = "items stay few"
sql = "SELECT count(*) FROM items"
expect = "< 100"
"#
    ));
}

fn of<'a>(journal: &'a [Value], event: &str) -> Vec<&'a Value> {
    journal.iter().filter(|l| l["event"] == event).collect()
}

/// The watch window prints one line per round with each check's value; `-v` shows every
/// passing preflight, verify and smoke check (and without it they get no line of their
/// own); the journal has every event: each migration's start and finish, each check, each
/// watch round with its values, each phase's start and end.
#[test]
fn a_run_shows_and_journals_everything() {
    let p = Project::new(Kind::Sqlite, "");
    with_checks(&p, "duration = \"250ms\"\ninterval = \"100ms\"");
    let out = p.ok(&["deploy", "--to", "0001", "--yes"]);
    let err = stderr(&out);
    let rounds: Vec<&str> = err.lines().filter(|l| l.contains("watch round")).collect();
    assert!(rounds.len() >= 2, "{err}");
    for (i, line) in rounds.iter().enumerate() {
        assert!(
            line.contains(&format!("watch round {}", i + 1))
                && line.contains("items stay few: got 1"),
            "{line}"
        );
    }
    assert!(
        err.contains(&format!("{} round(s) over 0.2s, no breach", rounds.len())),
        "the window's length as configured (250ms):\n{err}"
    );
    assert!(
        err.contains("no before-migrate hooks"),
        "phases speak words, not Rust names:\n{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("    preflight ")),
        "passing checks get their own line only with -v:\n{err}"
    );

    let out = p.ok(&["deploy", "--yes", "-v", "--report-dir", "report"]);
    let err = stderr(&out);
    for (phase, message) in [
        ("preflight", "HTTP 200"),
        ("verify", "items counted: got 1"),
        ("smoke", "HTTP 200"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("    {phase} ")) && l.contains(message)),
            "-v shows the passing {phase} check `{message}`:\n{err}"
        );
    }

    let journal = p.journal();
    for event in ["script_started", "script_finished"] {
        let ids: Vec<&str> = of(&journal, event)
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["0002", "0003"], "{event}");
    }
    for phase in ["preflight", "verify", "smoke"] {
        assert!(
            of(&journal, "check")
                .iter()
                .any(|l| l["phase"] == phase && l["result"]["status"] == "pass"),
            "a {phase} check in the journal"
        );
    }
    let watch = of(&journal, "watch_round");
    assert!(watch.len() >= 2, "{watch:#?}");
    for (i, round) in watch.iter().enumerate() {
        assert_eq!(round["round"], i as u64 + 1);
        assert_eq!(round["results"][0]["message"], "items stay few: got 1");
    }
    let phases = of(&journal, "phase");
    for phase in [
        "preflight",
        "backup",
        "migrate",
        "seed",
        "verify",
        "smoke",
        "watch",
    ] {
        let statuses: Vec<&str> = phases
            .iter()
            .filter(|l| l["phase"] == phase)
            .map(|l| l["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses[0], "started", "{phase}: {statuses:?}");
        assert_eq!(statuses.len(), 2, "{phase}: {statuses:?}");
    }
}

/// A statement that makes the server say something: a PostgreSQL `RAISE NOTICE`, a
/// MariaDB warning ("Truncated incorrect INTEGER value").
fn noisy(kind: Kind, word: &str) -> String {
    match kind {
        Kind::Postgres => format!("DO $$ BEGIN RAISE NOTICE 'hello from {word}'; END $$;\n"),
        _ => format!("SELECT CAST('hello_from_{word}' AS SIGNED);\n"),
    }
}

/// Server notices are shown with `migrate -v` and `deploy -v` (not without `-v`), and the
/// deploy writes them to its journal.
fn server_notices(kind: Kind) {
    let p = Project::new(kind, "");
    let quiet = noisy(kind, "quiet");
    let loud = noisy(kind, "migrate");
    let deployed = noisy(kind, "deploy");
    write_files(
        p.db.path(),
        &[
            ("migrations/0004_quiet.up.sql", quiet.as_str()),
            ("migrations/0005_loud.up.sql", loud.as_str()),
            ("migrations/0006_deployed.up.sql", deployed.as_str()),
        ],
    );
    let out = p.ok(&["migrate", "--to", "0004"]);
    assert!(!stderr(&out).contains("from_quiet") && !stderr(&out).contains("from quiet"));
    let out = p.ok(&["migrate", "--to", "0005", "-v"]);
    let said = |out: &Output, word: &str| {
        let err = stderr(out);
        assert!(
            err.contains(&format!("hello from {word}"))
                || err.contains(&format!("hello_from_{word}")),
            "the server's notice about {word} is shown:\n{err}"
        );
    };
    said(&out, "migrate");
    let out = p.ok(&["deploy", "--yes", "-v", "--report-dir", "report"]);
    said(&out, "deploy");
    let journal = p.journal();
    let notices = of(&journal, "notice");
    assert!(
        notices.iter().any(|n| n["id"] == "0006"
            && n["text"]
                .as_str()
                .is_some_and(|t| t.contains("from deploy") || t.contains("from_deploy"))),
        "{journal:#?}"
    );
}

/// cutover's own rows take bound parameters: a failure whose text holds a quote and a
/// backslash keeps its `cutover_runs` row, reason intact (a hook's message here; on
/// MariaDB a migration's error too).
fn quotes_and_backslashes_keep_the_row(kind: Kind) {
    let p = Project::new(kind, "");
    let reason = r"it's a quote, a \ backslash and \' both";
    write_files(p.db.path(), &[("reason.txt", reason)]);
    p.append(
        "[[environments.prod.hooks]]\nwhen = \"before-migrate\"\ncommand = \"cat reason.txt >&2; exit 3\"\n",
    );
    let out = p.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    let kept =
        p.db.scalar("SELECT reason FROM cutover_runs")
            .unwrap_or_default();
    assert!(kept.contains(reason), "{kept}");
    if kind == Kind::MySql {
        p.ok(&["migrate"]);
        write_files(
            p.db.path(),
            &[(
                "migrations/0004_bad.up.sql",
                "INSERT INTO items (id) VALUES ('it''s a \\\\ backslash');\n",
            )],
        );
        let config = std::fs::read_to_string(p.db.path().join("cutover.toml")).unwrap();
        write_files(
            p.db.path(),
            &[("cutover.toml", &config.replace("exit 3", "exit 0"))],
        );
        let out = p.run(&["deploy", "--yes"]);
        assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
        let reasons: Vec<String> =
            p.db.connect()
                .query("SELECT reason FROM cutover_runs")
                .unwrap()
                .into_iter()
                .filter_map(|r| r[0].clone())
                .collect();
        assert!(
            reasons.iter().any(|r| r.contains(r"it's a \ backslash")),
            "{reasons:#?}\n{}",
            stderr(&out)
        );
    }
}

per_engine!(quotes_and_backslashes_keep_the_row);

#[test]
fn postgres_notices() {
    server_notices(Kind::Postgres);
}

#[test]
fn mariadb_notices() {
    server_notices(Kind::MySql);
}

/// A journal that cannot be written (here: the file-size limit is hit half-way) is a
/// warning the operator sees on stderr and finds in the report; the run goes on.
#[test]
fn lost_journal_is_a_warning() {
    let p = Project::new(Kind::Postgres, "");
    let config = std::fs::read_to_string(p.db.path().join("cutover.toml")).unwrap();
    write_files(
        p.db.path(),
        &[(
            "cutover.toml",
            &config.replace(
                "verify = \"checksum\"",
                "verify = \"checksum\"\nrequired = false",
            ),
        )],
    );
    // Many watch rounds make a journal far larger than any report file.
    with_checks(&p, "duration = \"600ms\"\ninterval = \"10ms\"");
    let out = p.limited(16, &["deploy", "--yes", "--report-dir", "report"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let warning = err
        .lines()
        .find(|l| l.starts_with("warning: the journal"))
        .unwrap_or_else(|| panic!("a warning about the journal:\n{err}"));
    assert!(warning.contains("journal.jsonl"), "{warning}");
    let dir = std::fs::read_dir(p.db.path().join("report"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("journal")),
        "{:#}",
        report["warnings"]
    );
}
