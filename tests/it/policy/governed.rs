//! The governed commands one by one, on every engine: `rollback --to` (the issue's
//! reproduction), `rollback --steps`, `rollback --run`, `resolve`, `baseline`,
//! `backup restore` and `seed` each keep the contract of `obeys_policy`; an undo by restore
//! keeps the target's own records.

use super::*;

/// `cutover --env prod rollback --to V </dev/null` must not drop a column without asking,
/// without a backup and without a record; approved, it does all three and runs the hooks.
fn rollback_to_and_steps(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["migrate"]);
    assert!(p.has_note());
    obeys_policy(&p, &["rollback", "--to", "0001"], "rollback", 5);
    assert!(!p.has_note(), "approved, the column is dropped");
    assert!(!p.db.has_table("extra"));
    assert_eq!(p.hook_log(), "before\nafter\n", "the rollback hooks ran");

    p.ok(&["migrate"]);
    obeys_policy(&p, &["rollback", "--steps", "1"], "rollback", 5);
    assert!(!p.db.has_table("extra") && p.has_note());
    assert_eq!(p.hook_log(), "before\nafter\n".repeat(2));
}

/// `rollback --run ID` undoes a finished deploy under the policy; `runs list` then shows
/// the deploy as rolled back and names the run that undid it (text and JSON).
fn rollback_run_marks_the_deploy(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["migrate", "--to", "0001"]);
    p.ok(&["deploy", "--yes"]);
    assert!(p.has_note());
    let deploy = p.runs()[0]["id"].as_str().unwrap().to_string();
    obeys_policy(&p, &["rollback", "--run", &deploy], "rollback", 5);
    assert!(!p.has_note() && !p.db.has_table("extra"));
    assert_eq!(p.hook_log(), "before\nafter\n");
    undone_in_runs_list(&p, &deploy);
}

/// The deploy `id` is listed as rolled back by the newest run, which says it undoes it.
fn undone_in_runs_list(p: &Project, id: &str) {
    let runs = p.runs();
    let undo = &runs[0];
    let undo_id = undo["id"].as_str().unwrap();
    assert_eq!(
        (undo["kind"].as_str(), undo["outcome"].as_str()),
        (Some("rollback"), Some("success")),
        "{runs:#?}"
    );
    assert_eq!(undo["undoes"], id, "{undo:#}");
    let deploy = runs
        .iter()
        .find(|r| r["id"] == id)
        .expect("the deploy is listed");
    assert_eq!(deploy["outcome"], "rolled_back", "{deploy:#}");
    assert_eq!(deploy["undone_by"], undo_id, "{deploy:#}");
    let text = stdout(&p.ok(&["runs", "list"]));
    let line = text
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{id} in\n{text}"));
    assert!(
        line.contains("rolled back") && line.contains(&format!("undone by {undo_id}")),
        "{line}"
    );
    // The deploy itself succeeded: it was undone later, it did not fail.
    let shown = stdout(&p.ok(&["runs", "show", id]));
    assert!(
        shown.contains("rolled back")
            && shown.contains(&format!("undone by run {undo_id}"))
            && !shown.contains("failed"),
        "{shown}"
    );
}

/// With `rollback = "restore"`, `rollback --run` restores the pre-deploy backup, and the
/// target's own records survive it: the deploy and its undo are both listed.
fn rollback_run_by_restore_keeps_the_records(kind: Kind) {
    let p = Project::new(
        kind,
        "rollback = \"restore\"\nrollback_after_traffic = \"restore\"",
    );
    p.ok(&["migrate", "--to", "0001"]);
    p.ok(&["deploy", "--yes"]);
    let deploy = p.runs()[0]["id"].as_str().unwrap().to_string();
    let out = p.ok(&["rollback", "--run", &deploy, "--yes"]);
    assert!(stdout(&out).contains("restored"), "{}", stdout(&out));
    assert!(!p.has_note() && !p.db.has_table("extra"));
    assert_eq!(
        p.db.count("SELECT count(*) FROM items"),
        0,
        "the seed's row went with the restore"
    );
    undone_in_runs_list(&p, &deploy);
}

/// `resolve --accept-checksum` of an edited, reviewed migration.
fn resolve_obeys_the_policy(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["migrate"]);
    write_files(
        p.db.path(),
        &[(
            "migrations/0003_extra.up.sql",
            "CREATE TABLE extra (id INT); -- reviewed\n",
        )],
    );
    assert_eq!(p.run(&["status", "--check"]).status.code(), Some(1));
    obeys_policy(&p, &["resolve", "--accept-checksum", "0003"], "resolve", 5);
    p.ok(&["status", "--check"]);
}

/// `baseline` adopts a database built by hand.
fn baseline_obeys_the_policy(kind: Kind) {
    let p = Project::new(kind, "");
    p.db.connect()
        .execute("CREATE TABLE items (id INT PRIMARY KEY)")
        .unwrap();
    obeys_policy(&p, &["baseline", "--version", "0001"], "baseline", 5);
    assert_eq!(
        p.db.history(),
        [("0001".to_string(), "applied".to_string())]
    );
}

/// `backup restore` replaces the data, after a safety backup.
fn restore_obeys_the_policy(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["migrate"]);
    p.ok(&["backup", "create"]);
    let file = format!("backups/{}", p.backups()[0]);
    p.db.connect()
        .execute("INSERT INTO items (id) VALUES (42)")
        .unwrap();
    obeys_policy(&p, &["backup", "restore", &file], "restore", 5);
    assert_eq!(p.db.count("SELECT count(*) FROM items"), 0, "restored");
}

/// `seed` runs the seeds alone; a seed that fails is exit 4 and keeps nothing of itself.
fn seed_obeys_the_policy(kind: Kind) {
    let p = Project::new(kind, "");
    p.ok(&["migrate"]);
    obeys_policy(&p, &["seed"], "seed", 10);
    assert_eq!(p.db.count("SELECT count(*) FROM items"), 1);

    write_files(
        p.db.path(),
        &[(
            "seeds/02_broken.sql",
            "INSERT INTO items (id) VALUES (2);\nINSERT INTO nowhere VALUES (1);\n",
        )],
    );
    let out = p.run(&["seed", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a seed failure is a script failure\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("02_broken.sql:2"), "{}", stderr(&out));
    assert_eq!(
        p.db.count("SELECT count(*) FROM items"),
        1,
        "nothing of the failed seed was kept"
    );
}

/// `rollback = "restore"` on a deploy that took no backup (`--skip-backup`, allowed by the
/// policy): `rollback --run` is a clear refusal naming the missing backup (it once panicked on
/// `expect("checked above")`), and nothing is changed or recorded as an undo.
fn restore_policy_without_a_backup_is_refused(kind: Kind) {
    let p = Project::new(
        kind,
        "rollback = \"restore\"\nrollback_after_traffic = \"restore\"\nallow_skip_backup = true",
    );
    p.ok(&["migrate", "--to", "0001"]);
    p.ok(&["deploy", "--yes", "--skip-backup"]);
    let deploy = p.runs()[0]["id"].as_str().unwrap().to_string();
    let before = p.state();
    let out = p.run(&["rollback", "--run", &deploy, "--yes"]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert_ne!(out.status.code(), Some(101), "a panic: {err}");
    assert!(err.contains("no pre-deploy backup"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(p.state(), before, "a refused undo changed the target");
    assert!(p.has_note() && p.db.has_table("extra"));
    let runs = p.runs();
    let deployed = runs.iter().find(|r| r["id"] == deploy.as_str()).unwrap();
    assert_eq!(deployed["outcome"], "success", "{runs:#?}");
}

per_engine!(
    rollback_to_and_steps,
    rollback_run_marks_the_deploy,
    rollback_run_by_restore_keeps_the_records,
    resolve_obeys_the_policy,
    baseline_obeys_the_policy,
    restore_obeys_the_policy,
    seed_obeys_the_policy,
    restore_policy_without_a_backup_is_refused,
);

/// `cutover --env prod ARGS` on a terminal (`script` gives it one), typing `answer` when
/// asked. Returns the exit code and everything the terminal showed.
fn on_a_terminal(p: &Project, answer: &str, args: &[&str]) -> (Option<i32>, String) {
    let cutover = assert_cmd::cargo::cargo_bin("cutover");
    let command: Vec<String> = [cutover.to_str().unwrap(), "--env", "prod"]
        .iter()
        .chain(args)
        .map(|a| format!("'{a}'"))
        .collect();
    let mut child = std::process::Command::new("script")
        .current_dir(p.db.path())
        .env("NO_COLOR", "1")
        .args(["-qec", &command.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs the command on a terminal");
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{answer}").unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), stdout(&out))
}

/// On a terminal, approving is typing a name: the environment's for a rollback, the
/// database's for a restore. Any other answer is refused and changes nothing.
#[test]
fn approval_is_a_typed_name_on_a_terminal() {
    let p = Project::new(Kind::Sqlite, "");
    p.ok(&["migrate"]);
    let (code, shown) = on_a_terminal(&p, "production", &["rollback", "--to", "0001"]);
    assert_eq!(code, Some(5), "{shown}");
    assert!(
        shown.contains("Type prod to approve") && shown.contains("not approved"),
        "{shown}"
    );
    assert!(p.has_note(), "refused: nothing changed");
    let (code, shown) = on_a_terminal(&p, "prod", &["rollback", "--to", "0001"]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(!p.has_note(), "approved: rolled back");

    // The prompt says what will change in words, for a resolve too.
    write_files(
        p.db.path(),
        &[(
            "migrations/0001_items.up.sql",
            "CREATE TABLE items (id INT PRIMARY KEY); -- reviewed\n",
        )],
    );
    let (code, shown) = on_a_terminal(&p, "no", &["resolve", "--accept-checksum", "0001"]);
    assert_eq!(code, Some(5), "{shown}");
    assert!(
        shown.contains("accept the edited checksum of 0001 on "),
        "{shown}"
    );

    p.ok(&["backup", "create"]);
    let file = format!("backups/{}", p.backups().last().unwrap());
    p.db.connect()
        .execute("INSERT INTO items (id) VALUES (42)")
        .unwrap();
    let (code, shown) = on_a_terminal(&p, "prod", &["backup", "restore", &file]);
    assert_eq!(
        code,
        Some(5),
        "the database's name, not the environment's: {shown}"
    );
    assert_eq!(p.db.count("SELECT count(*) FROM items"), 1);
    let (code, shown) = on_a_terminal(&p, "test", &["backup", "restore", &file]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(p.db.count("SELECT count(*) FROM items"), 0, "restored");
}

/// A before-rollback hook that fails stops the rollback before it changes anything (exit
/// 10, as for any governed run stopped before a change); the failure is announced once and
/// recorded.
#[test]
fn a_failing_before_rollback_hook_stops_the_rollback() {
    let p = Project::new(Kind::Sqlite, "");
    p.append(
        "[[environments.prod.hooks]]\nwhen = \"before-rollback\"\ncommand = \"echo workers busy >&2; exit 3\"\n",
    );
    p.ok(&["migrate"]);
    let out = p.run(&["rollback", "--yes"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(stderr(&out).contains("workers busy"), "{}", stderr(&out));
    assert!(p.db.has_table("extra"), "nothing was rolled back");
    assert_eq!(
        p.hook_log(),
        "before\n",
        "the after-rollback hook did not run"
    );
    assert_eq!(p.app.events(), ["start", "failure"]);
    let newest = &p.runs()[0];
    assert_eq!(newest["outcome"], "failed", "{newest:#}");
}
