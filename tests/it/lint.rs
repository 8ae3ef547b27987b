//! `cutover lint` through the real binary: text, JSON, SARIF and GitHub output, exit codes,
//! suppressions and `[lint]`, live table sizes from real PostgreSQL and MariaDB tables, and
//! the pending migrations of a target as one run. The corpora: `lint_corpora`.

use crate::common::*;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

fn rules_of(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

const RISKY_PG: &str = "-- a comment\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\nCREATE INDEX orders_customer ON orders (customer_id);\n";

#[test]
fn offline_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "migrations/1_orders.up.sql",
                "CREATE TABLE orders (id bigint PRIMARY KEY, total int, customer_id bigint);\nCREATE INDEX orders_total ON orders (total);\n",
            ),
            ("migrations/2_risky.up.sql", RISKY_PG),
        ],
    );
    let out = cutover_cmd(dir.path())
        .args(["lint", "--dialect", "postgres", "migrations"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(stdout(&out), @r"
        migrations/1_orders.up.sql:1: info[prefer-bigint-over-int] Using 32-bit integer fields can result in hitting the max `int` limit.
            safe way: Use 64-bit integer values instead to prevent hitting this limit.
        migrations/2_risky.up.sql:2: error[changing-column-type] Changing a column type requires an `ACCESS EXCLUSIVE` lock on the table which blocks reads and writes while the table is rewritten. Changing the type of the column may also break other clients reading from the table.
            safe way: expand and contract: add a column of the new type, write both, backfill in batches, switch reads, drop the old column
        migrations/2_risky.up.sql:2: warning[require-lock-timeout] Missing `set lock_timeout` before potentially slow ACCESS EXCLUSIVE lock operations
            safe way: SET lock_timeout (e.g. '500ms') first, or in the environment's init_sql, so the statement gives up instead of queueing every query behind it
        migrations/2_risky.up.sql:2: warning[require-statement-timeout] Missing `set statement_timeout` before potentially slow operations
            safe way: SET statement_timeout first, or set the environment's statement_timeout
        migrations/2_risky.up.sql:3: error[require-concurrent-index-creation] During normal index creation, table updates are blocked, but reads are still allowed.
            safe way: CREATE INDEX CONCURRENTLY in a migration marked `-- cutover:no-transaction`
        2 error(s), 2 warning(s), 1 info in 2 script(s), 4 statement(s); 7 finding(s) dropped by context (-v lists them)
        note: offline: no table sizes, so a table the run does not create counts as large (no database URL: pass --url, set DATABASE_URL, or run `cutover init` for a cutover.toml)
        ");
    });
    let out = cutover_cmd(dir.path())
        .args(["--json", "lint", "--dialect", "postgres", "migrations"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let found = rules_of(&v);
    assert!(
        found.contains(&("changing-column-type".into(), 2)),
        "{found:?}"
    );
    assert!(
        found.contains(&("require-concurrent-index-creation".into(), 3)),
        "{found:?}"
    );
    // The index on the table its own migration creates is not a big-table index.
    let dropped: Vec<&str> = v["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert!(
        dropped.contains(&"require-concurrent-index-creation"),
        "{dropped:?}"
    );
    assert_eq!(v["errors"], 2);
    assert_eq!(v["target"]["dialect"], "postgres");
}

#[test]
fn github_and_sarif_formats() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("risky.sql", RISKY_PG)]);
    let out = cutover_cmd(dir.path())
        .args([
            "lint",
            "--dialect",
            "postgres",
            "--format",
            "github",
            "risky.sql",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with(
            "::error file=risky.sql,line=3,title=require-concurrent-index-creation::During normal index creation"
        )),
        "{text}"
    );
    assert!(
        text.contains("::notice title=cutover lint::offline"),
        "{text}"
    );
    let out = cutover_cmd(dir.path())
        .args([
            "lint",
            "--dialect",
            "postgres",
            "--format",
            "sarif",
            "risky.sql",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "changing-column-type")
        .unwrap();
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "risky.sql"
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "changing-column-type"
    );
}

#[test]
fn exit_codes_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("clean.sql", "CREATE TABLE t (id bigint PRIMARY KEY);\n"),
            ("warn.sql", "ALTER TABLE t DROP DEFAULT;\n"),
        ],
    );
    let run = |args: &[&str]| cutover_cmd(dir.path()).args(args).output().unwrap();
    // A plain file is not run in a transaction: the info (IF NOT EXISTS) does not fail.
    assert_eq!(
        run(&["lint", "--dialect", "postgres", "clean.sql"])
            .status
            .code(),
        Some(0)
    );
    let sql = "ALTER TABLE t ALTER COLUMN a DROP DEFAULT;\n";
    std::fs::write(dir.path().join("warn.sql"), sql).unwrap();
    let out = run(&["lint", "--dialect", "postgres", "warn.sql"]);
    assert!(
        stdout(&out).contains("warning[ban-drop-default]"),
        "{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(0), "warnings alone pass");
    let out = run(&[
        "lint",
        "--dialect",
        "postgres",
        "--fail-on",
        "warning",
        "warn.sql",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // No dialect and no target: one clear error, exit 2.
    let out = run(&["lint", "clean.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no dialect: pass --dialect"),
        "{}",
        stderr(&out)
    );
    // A file that is not there names itself.
    let out = run(&["lint", "--dialect", "postgres", "missing.sql"]);
    assert_eq!(out.status.code(), Some(9));
    assert!(stderr(&out).contains("missing.sql"), "{}", stderr(&out));
    // An unterminated quote names the file and line.
    std::fs::write(dir.path().join("bad.sql"), "SELECT 1;\nSELECT 'oops;\n").unwrap();
    let out = run(&["lint", "--dialect", "postgres", "bad.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.sql:2"), "{}", stderr(&out));
}

#[test]
fn allow_directives_suppress_and_still_migrate() {
    let db = TestDb::new(Kind::Sqlite);
    write_files(
        db.path(),
        &[
            (
                "migrations/1_t.up.sql",
                "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\n",
            ),
            (
                "migrations/2_drop.up.sql",
                "-- cutover:allow ban-drop-column nothing reads a since release 41\nALTER TABLE t DROP COLUMN a;\n-- cutover:allow ban-drop-column\nALTER TABLE t DROP COLUMN b;\n",
            ),
        ],
    );
    let out = db
        .cutover()
        .args(["--json", "lint", "--offline", "--dialect", "sqlite"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(rules_of(&v), vec![("allow-without-reason".to_string(), 3)]);
    assert_eq!(v["suppressed"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["suppressed"][0]["reason"],
        "nothing reads a since release 41"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a suppression without a reason fails"
    );
    // The runner reads the same files: the allow lines are no directives of its own.
    db.cutover().arg("migrate").assert().success();
    assert_eq!(db.history().len(), 2);
}

#[test]
fn lint_section_of_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("risky.sql", RISKY_PG),
            (
                "cutover.toml",
                "[lint]\ndisable = [\"require-concurrent-index-creation\"]\nfail_on = \"warning\"\n[lint.severity]\nchanging-column-type = \"info\"\n",
            ),
        ],
    );
    let out = cutover_cmd(dir.path())
        .args(["--json", "lint", "--dialect", "postgres", "risky.sql"])
        .output()
        .unwrap();
    let v = json(&out);
    let found = rules_of(&v);
    assert!(
        !found
            .iter()
            .any(|(r, _)| r == "require-concurrent-index-creation"),
        "{found:?}"
    );
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "changing-column-type")
        .unwrap();
    assert_eq!(f["severity"], "info");
    assert_eq!(
        out.status.code(),
        Some(1),
        "fail_on = warning: the lock_timeout warnings fail"
    );
    std::fs::write(
        dir.path().join("cutover.toml"),
        "[lint]\ndisable = [\"no-such-rule\"]\n",
    )
    .unwrap();
    let out = cutover_cmd(dir.path())
        .args(["lint", "--dialect", "postgres", "risky.sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("lint.disable: unknown rule `no-such-rule`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreachable_target_only_loses_sizes_and_hides_its_password() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("migrations/1_x.up.sql", RISKY_PG)]);
    let out = cutover_cmd(dir.path())
        .args(["--url", "postgres://app:s3cr3t-pw@127.0.0.1:1/app", "lint"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("error[changing-column-type]"), "{text}");
    assert!(
        text.contains("note: the target could not be reached, so no table sizes were read"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t-pw"), "{text}");
}

/// A table with `rows` rows and a wide column, analysed so the catalog knows its size.
fn fill_pg(db: &TestDb, rows: u32) {
    let mut c = db.connect();
    c.execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, total int, customer_id bigint, note text)",
    )
    .unwrap();
    c.execute(&format!(
        "INSERT INTO orders SELECT g, g % 1000, g % 77, repeat('x', 200) FROM generate_series(1, {rows}) g"
    ))
    .unwrap();
    c.execute("CREATE TABLE empty_t (id bigint PRIMARY KEY, x int)")
        .unwrap();
    c.execute("ANALYZE").unwrap();
}

#[test]
fn live_sizes_postgres() {
    let db = TestDb::new(Kind::Postgres);
    fill_pg(&db, 200_000);
    write_files(
        db.path(),
        &[(
            "migrations/1_change.up.sql",
            "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\nCREATE INDEX empty_x ON empty_t (x);\n",
        )],
    );
    let out = db.cutover().args(["--json", "lint"]).output().unwrap();
    let v = json(&out);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "changing-column-type")
        .unwrap_or_else(|| panic!("{v:#}"));
    let message = f["message"].as_str().unwrap();
    // 200,000 rows of ~250 bytes: tens of MB, under the 100 MB large_table default.
    assert!(message.contains("(`orders`: "), "{message}");
    assert!(message.contains(" MB, about 200000 rows;"), "{message}");
    assert!(
        message.contains("at 46 MB/s, the [lint] rewrite_rate"),
        "{message}"
    );
    assert!(
        message.contains("under [lint] large_table = 100 MB"),
        "{message}"
    );
    assert_eq!(
        f["severity"], "warning",
        "a small table's rewrite is a warning"
    );
    // The empty table costs nothing to index.
    let dropped = v["dropped"].as_array().unwrap();
    assert!(
        dropped
            .iter()
            .any(|d| d["rule"] == "require-concurrent-index-creation"
                && d["reason"] == "`empty_t` holds no row on the target"),
        "{dropped:#?}"
    );
    assert_eq!(v["target"]["version"][0], 15, "{:#}", v["target"]);
    // With large_table below the table's size the rewrite is an error again.
    write_files(
        db.path(),
        &[("cutover.toml", "[lint]\nlarge_table = \"1MB\"\n")],
    );
    let out = db.cutover().args(["--json", "lint"]).output().unwrap();
    let v = json(&out);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "changing-column-type")
        .unwrap();
    assert_eq!(f["severity"], "error");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn live_sizes_mariadb() {
    let db = TestDb::new(Kind::MySql);
    let mut c = db.connect();
    c.execute("SET SESSION max_recursive_iterations = 10000")
        .unwrap();
    c.execute("CREATE TABLE customers (id bigint PRIMARY KEY)")
        .unwrap();
    c.execute("CREATE TABLE orders (id bigint PRIMARY KEY AUTO_INCREMENT, customer_id bigint, note varchar(200))").unwrap();
    c.execute("INSERT INTO orders (customer_id, note) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i, REPEAT('x', 150) FROM n").unwrap();
    c.execute("CREATE TABLE empty_t (id bigint PRIMARY KEY, customer_id bigint)")
        .unwrap();
    c.execute("ANALYZE TABLE orders, empty_t").unwrap();
    write_files(
        db.path(),
        &[
            (
                "migrations/1_fk.up.sql",
                "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
            ),
            (
                "migrations/2_fk.up.sql",
                "ALTER TABLE empty_t ADD CONSTRAINT empty_customer FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
            ),
            (
                // No migration file says what `customer_id` was: the live schema does.
                "migrations/3_type.up.sql",
                "ALTER TABLE orders MODIFY customer_id int, ALGORITHM=INPLACE, LOCK=NONE;\n",
            ),
        ],
    );
    let out = db.cutover().args(["--json", "lint"]).output().unwrap();
    let v = json(&out);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "mysql-foreign-key-copy")
        .unwrap_or_else(|| panic!("{v:#}"));
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("(`orders`: "), "{message}");
    assert!(message.contains("rows; "), "{message}");
    assert!(message.contains("the [lint] rewrite_rate"), "{message}");
    assert_eq!(v["target"]["flavour"], "mariadb");
    assert!(
        v["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "mysql-foreign-key-copy"
                && d["reason"] == "`empty_t` holds no row on the target"),
        "{v:#}"
    );
    let change = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "changing-column-type")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        change["message"]
            .as_str()
            .unwrap()
            .contains("from bigint(20) to int"),
        "{change:#}"
    );
    // Guarded by ALGORITHM=INPLACE, LOCK=NONE: the server refuses instead of copying.
    assert_eq!(
        rules_of(&v)
            .iter()
            .map(|(r, _)| r.as_str())
            .collect::<Vec<_>>(),
        vec!["mysql-foreign-key-copy", "changing-column-type"],
        "{v:#}"
    );
}

#[test]
fn pending_migrations_of_a_target_are_one_run() {
    let db = TestDb::new(Kind::Postgres);
    write_files(
        db.path(),
        &[(
            "migrations/1_orders.up.sql",
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\nINSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;\n",
        )],
    );
    db.cutover().arg("migrate").assert().success();
    write_files(
        db.path(),
        &[
            (
                "migrations/2_items.up.sql",
                "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint);\n",
            ),
            (
                "migrations/3_indexes.up.sql",
                "CREATE INDEX items_order ON items (order_id);\nCREATE INDEX orders_customer ON orders (customer_id);\n",
            ),
        ],
    );
    let out = db.cutover().args(["--json", "lint"]).output().unwrap();
    let v = json(&out);
    let found: Vec<(String, u64)> = rules_of(&v)
        .into_iter()
        .filter(|(r, _)| r == "require-concurrent-index-creation")
        .collect();
    assert_eq!(
        found,
        vec![("require-concurrent-index-creation".to_string(), 2)],
        "{v:#}"
    );
    assert!(
        v["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["reason"] == "`items` is created earlier in this run and holds no row yet"),
        "{v:#}"
    );
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("1 migration(s) the target has applied were not linted"),
        "{notes}"
    );
    let scripts = v["scripts"].as_array().unwrap();
    assert_eq!(scripts.len(), 2);
}
