//! What one migration leaves for the next (session settings), which migration a version
//! names, and inputs that used to panic.

use super::*;

fn ids(db: &TestDb) -> Vec<String> {
    db.history().into_iter().map(|(v, _)| v).collect()
}

/// Prisma folders that share a date prefix: a whole id names exactly that migration for
/// `baseline --version` and `migrate --to`; the bare date is ambiguous and refused with the
/// ids it could mean.
#[test]
fn prisma_ids_name_exactly_one_migration() {
    let files = [
        (
            "prisma/migrations/20241031_baseline_schema_only/migration.sql",
            "CREATE TABLE base (id INT);\n",
        ),
        (
            "prisma/migrations/20241031_data_migrations/migration.sql",
            "INSERT INTO base VALUES (1);\n",
        ),
        (
            "prisma/migrations/20241101_more/migration.sql",
            "CREATE TABLE more (id INT);\n",
        ),
        (
            "prisma/migrations/migration_lock.toml",
            "provider = \"sqlite\"\n",
        ),
    ];
    let run = |db: &TestDb, args: &[&str]| {
        db.cutover()
            .args(["--migrations", "prisma/migrations"])
            .args(args)
            .output()
            .unwrap()
    };

    // An existing database adopted at its baseline: the data migration still runs.
    let db = TestDb::new(Kind::Sqlite);
    write_files(db.path(), &files);
    db.connect().execute("CREATE TABLE base (id INT)").unwrap();
    let out = run(
        &db,
        &["baseline", "--version", "20241031_baseline_schema_only"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&db), ["20241031_baseline_schema_only"]);
    let out = run(&db, &["migrate", "--to", "20241031_data_migrations"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.count("SELECT count(*) FROM base"),
        1,
        "the data migration ran"
    );
    assert!(!db.has_table("more"));

    let db = TestDb::new(Kind::Sqlite);
    write_files(db.path(), &files);
    let out = run(&db, &["migrate", "--to", "20241031"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("20241031_baseline_schema_only")
            && stderr(&out).contains("20241031_data_migrations"),
        "{}",
        stderr(&out)
    );
    assert!(!db.path().join("test.db").exists() || !db.has_table("base"));
    let out = run(&db, &["migrate", "--to", "20241031_baseline_schema_only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ids(&db), ["20241031_baseline_schema_only"]);
}

/// `--to 1` names `0001` when no other migration has the number 1.
#[test]
fn a_unique_bare_number_names_its_migration() {
    let p = Project::new(Kind::Sqlite, "");
    p.ok(&["migrate", "--to", "1"]);
    assert_eq!(ids(&p.db), ["0001"]);
    p.ok(&["deploy", "--to", "2", "--yes"]);
    assert_eq!(ids(&p.db), ["0001", "0002"]);
    p.ok(&["rollback", "--to", "1", "--yes"]);
    assert_eq!(ids(&p.db), ["0001"]);
}

/// Lifting the statement timeout in one migration (PostgreSQL `SET statement_timeout = 0`,
/// MariaDB `SET SESSION max_statement_time = 0`) does not free the next migration from the
/// environment's statement_timeout: the slow one is cancelled, and the deploy rolled back.
fn statement_timeout_holds_for_the_next_migration(kind: Kind) {
    let p = Project::new(kind, "statement_timeout = \"300ms\"");
    p.ok(&["migrate"]);
    let (lift, slow, cancelled) = match kind {
        Kind::Postgres => (
            "SET statement_timeout = 0;\n",
            "SELECT pg_sleep(30);\n",
            "canceling statement due to statement timeout",
        ),
        _ => (
            "SET SESSION max_statement_time = 0;\n",
            "SELECT SLEEP(30);\n",
            "max_statement_time exceeded",
        ),
    };
    write_files(
        p.db.path(),
        &[
            ("migrations/0004_no_limit.up.sql", lift),
            ("migrations/0004_no_limit.down.sql", "SELECT 1;\n"),
            ("migrations/0005_slow.up.sql", slow),
            ("migrations/0005_slow.down.sql", "SELECT 1;\n"),
        ],
    );
    let started = std::time::Instant::now();
    let out = p.run(&["deploy", "--yes"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains(cancelled), "{}", stderr(&out));
    // Far below the 30 s sleep, far above a deploy on a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(ids(&p.db), ["0001", "0002", "0003"]);
}

#[test]
fn postgres_statement_timeout_holds_for_the_next_migration() {
    statement_timeout_holds_for_the_next_migration(Kind::Postgres);
}

#[test]
fn mariadb_statement_timeout_holds_for_the_next_migration() {
    statement_timeout_holds_for_the_next_migration(Kind::MySql);
}

/// PostgreSQL: a pg_dump-style baseline empties `search_path`; the next migration, the
/// seeds, the verify checks and cutover's own records still find their tables.
#[test]
fn postgres_search_path_is_put_back() {
    let p = Project::new(Kind::Postgres, "");
    p.append(
        "[[environments.prod.verify]]\nname = \"items readable\"\nsql = \"SELECT count(*) FROM items\"\nexpect = \"< 100\"\n",
    );
    p.ok(&["migrate", "--to", "0001"]);
    let dump = "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.dumped (id INT);\n";
    write_files(
        p.db.path(),
        &[
            ("migrations/0002_note.up.sql", dump),
            (
                "migrations/0002_note.down.sql",
                "DROP TABLE public.dumped;\n",
            ),
            (
                "migrations/0003_extra.up.sql",
                "INSERT INTO dumped VALUES (1);\n",
            ),
            (
                "migrations/0004_last.up.sql",
                dump.replace("dumped", "dumped_too").as_str(),
            ),
            (
                "migrations/0004_last.down.sql",
                "DROP TABLE public.dumped_too;\n",
            ),
        ],
    );
    let out = p.ok(&["deploy", "--yes"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(p.db.count("SELECT count(*) FROM dumped"), 1);
    assert_eq!(p.db.count("SELECT count(*) FROM items"), 1, "the seed ran");
    assert_eq!(p.runs()[0]["outcome"], "success");
}

/// MariaDB: `SET SESSION sql_mode = ''` and `SET FOREIGN_KEY_CHECKS = 0` in one migration
/// do not reach the next, and the connection's init_sql is applied again.
#[test]
fn mariadb_session_settings_do_not_leak() {
    let db = TestDb::new(Kind::MySql);
    write_files(
        db.path(),
        &[
            (
                "migrations/0001_tables.up.sql",
                "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;\nCREATE TABLE child (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;\n",
            ),
            (
                "migrations/0002_loose.up.sql",
                "SET SESSION sql_mode = '';\nSET FOREIGN_KEY_CHECKS = 0;\n",
            ),
            (
                "migrations/0003_seen.up.sql",
                "CREATE TABLE seen AS SELECT @@SESSION.sql_mode AS mode, @@SESSION.foreign_key_checks AS fk;\nCREATE TABLE \"quoted\" (id INT);\n",
            ),
            (
                "migrations/0004_orphan.up.sql",
                "INSERT INTO child VALUES (1, 999);\n",
            ),
        ],
    );
    let out = db
        .cutover()
        .args([
            "--init-sql",
            "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES'",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0004") && stderr(&out).contains("foreign key constraint fails"),
        "foreign key checks are on again for 0004: {}",
        stderr(&out)
    );
    assert_eq!(
        db.scalar("SELECT mode FROM seen").as_deref(),
        Some("ANSI_QUOTES,STRICT_ALL_TABLES"),
        "init_sql applied again, the empty sql_mode gone"
    );
    assert_eq!(db.scalar("SELECT fk FROM seen").as_deref(), Some("1"));
    assert!(db.has_table("quoted"));
}

/// A comment-only migration whose history write fails is a migration failure (exit 4)
/// naming it, never a panic.
fn comment_only_migration_whose_history_write_fails(kind: Kind) {
    let db = TestDb::new(kind);
    write_files(
        db.path(),
        &[
            ("migrations/0001_a.up.sql", "CREATE TABLE a (id INT);\n"),
            ("migrations/0002_nothing.up.sql", "-- nothing to do here\n"),
        ],
    );
    let out = db
        .cutover()
        .args(["migrate", "--to", "0001"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let trigger: &[&str] = match kind {
        Kind::Sqlite => &[
            "CREATE TRIGGER no_history BEFORE INSERT ON cutover_migrations BEGIN SELECT RAISE(ABORT, 'history is read-only'); END",
        ],
        Kind::Postgres => &[
            "CREATE FUNCTION no_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'history is read-only'; END $$",
            "CREATE TRIGGER no_history BEFORE INSERT OR UPDATE ON cutover_migrations FOR EACH ROW EXECUTE FUNCTION no_history()",
        ],
        Kind::MySql => &[
            "CREATE TRIGGER no_history BEFORE INSERT ON cutover_migrations FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'history is read-only'",
        ],
    };
    let mut e = db.connect();
    for sql in trigger {
        e.execute(sql).unwrap();
    }
    drop(e);
    for args in [&["migrate"][..], &["deploy"][..]] {
        let out = db.cutover().args(args).output().unwrap();
        let want = if args == ["deploy"] { 10 } else { 4 };
        assert_eq!(out.status.code(), Some(want), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("0002") && stderr(&out).contains("history is read-only"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(ids(&db), ["0001"]);
}

per_engine!(comment_only_migration_whose_history_write_fails);

/// PostgreSQL: a comment-only migration whose BEGIN fails (the connection's init_sql,
/// sent again with it, reads a table the migration before dropped) is exit 4, not a panic.
#[test]
fn postgres_comment_only_migration_whose_begin_fails() {
    let db = TestDb::new(Kind::Postgres);
    db.connect()
        .execute("CREATE TABLE app_mode (mode TEXT); INSERT INTO app_mode VALUES ('x')")
        .unwrap();
    write_files(
        db.path(),
        &[
            ("migrations/0001_drop.up.sql", "DROP TABLE app_mode;\n"),
            ("migrations/0002_nothing.up.sql", "-- nothing to do here\n"),
        ],
    );
    let out = db
        .cutover()
        .args([
            "--init-sql",
            "SELECT set_config('app.mode', (SELECT mode FROM app_mode), false)",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0002") && stderr(&out).contains("app_mode"),
        "{}",
        stderr(&out)
    );
}

/// A plan file edited by hand (a checksum that is not hex, with multi-byte characters) is
/// refused as stale, not a panic.
#[test]
fn a_tampered_plan_is_refused() {
    let p = Project::new(Kind::Sqlite, "");
    p.ok(&["plan", "--out", "plan.json"]);
    let text = std::fs::read_to_string(p.db.path().join("plan.json")).unwrap();
    let mut plan: Value = serde_json::from_str(&text).unwrap();
    plan["migrations"][0]["checksum"] = "aéééééééééééé".into();
    std::fs::write(p.db.path().join("plan.json"), plan.to_string()).unwrap();
    let out = p.run(&["deploy", "--plan", "plan.json", "--yes"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the plan is stale"),
        "{}",
        stderr(&out)
    );
    assert!(!p.left_a_trace());
}
