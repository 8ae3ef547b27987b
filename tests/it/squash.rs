//! `cutover squash`: a history replaced by a proved baseline, and what that means for
//! databases in each of the three states (applied all of the squashed migrations, none of
//! them, or stopped part-way), on every engine; then the longest real history in the
//! corpora on each engine, squashed but for its last ten, and old and fresh databases
//! migrated to its end and compared.

use std::path::{Path, PathBuf};

use crate::common::*;

/// Five migrations: a seeded table with a serial key, an index, a view, a grant (on
/// PostgreSQL), a trigger; then two that come after the squash point.
fn files(kind: Kind) -> Vec<(&'static str, &'static str)> {
    match kind {
        Kind::Postgres => vec![
            (
                "1_roles.up.sql",
                "CREATE TABLE roles (id serial PRIMARY KEY, name text NOT NULL UNIQUE);\nGRANT SELECT ON roles TO PUBLIC;\n",
            ),
            ("1_roles.down.sql", "DROP TABLE roles;\n"),
            (
                "2_seed.up.sql",
                "INSERT INTO roles (name) VALUES ('admin'), ('staff'), ('gone');\nDELETE FROM roles WHERE name = 'gone';\n",
            ),
            (
                "3_users.up.sql",
                "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, role_id int REFERENCES roles (id), email text);\nCREATE INDEX users_email ON users (lower(email));\nCREATE VIEW staff AS SELECT u.email FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'staff';\nCREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.email := lower(NEW.email); RETURN NEW; END $$;\nCREATE TRIGGER users_touch BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION touch();\n",
            ),
            ("4_more.up.sql", "ALTER TABLE users ADD COLUMN name text;\n"),
            (
                "5_last.up.sql",
                "INSERT INTO roles (name) VALUES ('guest');\n",
            ),
        ],
        Kind::MySql => vec![
            (
                "1_roles.up.sql",
                "CREATE TABLE roles (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL UNIQUE);\n",
            ),
            ("1_roles.down.sql", "DROP TABLE roles;\n"),
            (
                "2_seed.up.sql",
                "INSERT INTO roles (name) VALUES ('admin'), ('staff'), ('gone');\nDELETE FROM roles WHERE name = 'gone';\n",
            ),
            (
                "3_users.up.sql",
                "CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, role_id int, email varchar(200), FOREIGN KEY (role_id) REFERENCES roles (id));\nCREATE INDEX users_email ON users (email);\nCREATE VIEW staff AS SELECT u.email FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'staff';\nDELIMITER //\nCREATE TRIGGER users_touch BEFORE INSERT ON users FOR EACH ROW BEGIN SET NEW.email = lower(NEW.email); END//\nDELIMITER ;\n",
            ),
            (
                "4_more.up.sql",
                "ALTER TABLE users ADD COLUMN name varchar(50);\n",
            ),
            (
                "5_last.up.sql",
                "INSERT INTO roles (name) VALUES ('guest');\n",
            ),
        ],
        Kind::Sqlite => vec![
            (
                "1_roles.up.sql",
                "CREATE TABLE roles (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);\n",
            ),
            ("1_roles.down.sql", "DROP TABLE roles;\n"),
            (
                "2_seed.up.sql",
                "INSERT INTO roles (name) VALUES ('admin'), ('staff'), ('gone');\nDELETE FROM roles WHERE name = 'gone';\n",
            ),
            (
                "3_users.up.sql",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, role_id INTEGER REFERENCES roles (id), email TEXT);\nCREATE INDEX users_email ON users (lower(email));\nCREATE VIEW staff AS SELECT u.email FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'staff';\nCREATE TRIGGER users_touch AFTER INSERT ON users BEGIN UPDATE users SET email = lower(NEW.email) WHERE id = NEW.id; END;\n",
            ),
            ("4_more.up.sql", "ALTER TABLE users ADD COLUMN name TEXT;\n"),
            (
                "5_last.up.sql",
                "INSERT INTO roles (name) VALUES ('guest');\n",
            ),
        ],
    }
}

/// A project folder with its own migrations, and databases that use them.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        write_files(&dir.path().join("migrations"), files);
        Project { dir }
    }

    fn from(source: &Path) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(source, &dir.path().join("migrations"));
        Project { dir }
    }

    fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    fn run(&self, db: &TestDb, init_sql: &[&str], args: &[&str]) -> std::process::Output {
        let mut cmd = cutover_cmd(self.dir.path());
        cmd.arg("--url")
            .arg(&db.url)
            .arg("--migrations")
            .arg(self.migrations());
        for sql in init_sql {
            cmd.arg("--init-sql").arg(sql);
        }
        cmd.args(args).output().unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    stdout(out)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// The ids a `migrate --json` ran.
fn ran(out: &std::process::Output) -> Vec<String> {
    json(out)["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// `id:name` of every role: the ids show whether the sequence continued past the row
/// the seed deleted.
fn roles(db: &TestDb) -> Vec<String> {
    db.connect()
        .query("SELECT id, name FROM roles ORDER BY id")
        .unwrap()
        .into_iter()
        .map(|r| {
            format!(
                "{}:{}",
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default()
            )
        })
        .collect()
}

fn three_cases(kind: Kind) {
    let p = Project::new(&files(kind));
    let (old, partial, fresh) = (TestDb::new(kind), TestDb::new(kind), TestDb::new(kind));
    ok(&p.run(&old, &[], &["migrate", "--to", "4"]));
    ok(&p.run(&partial, &[], &["migrate", "--to", "2"]));

    let out = p.run(
        &old,
        &[],
        &["squash", "--through", "3", "--with-data", "roles", "--json"],
    );
    let report = json(&out);
    assert_eq!(report["baseline"], "3");
    assert_eq!(report["squashed"], 3);
    assert_eq!(report["remaining"], 2);
    assert_eq!(report["differences"].as_array().unwrap().len(), 0);
    let m = p.migrations();
    for gone in ["1_roles.up.sql", "1_roles.down.sql", "2_seed.up.sql"] {
        assert!(!m.join(gone).exists(), "{gone}");
        assert!(m.join("cutover-squashed").join(gone).exists(), "{gone}");
    }
    let baseline = std::fs::read_to_string(m.join("3_users.up.sql")).unwrap();
    assert!(baseline.contains("cutover squash"), "{baseline}");
    for noise in [
        "\\restrict",
        "OWNER TO",
        "SET statement_timeout",
        "DEFINER=",
        "set_config",
    ] {
        assert!(!baseline.contains(noise), "{noise}: {baseline}");
    }
    assert!(
        baseline.contains("staff"),
        "the view and the seeded rows: {baseline}"
    );

    // Applied all of them: the baseline counts as applied; only 5 runs.
    let status = json(&p.run(&old, &[], &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "complete", "{status}");
    let text = ok(&p.run(&old, &[], &["status"]));
    assert!(text.contains("this database applied all of them"), "{text}");
    assert_eq!(ran(&p.run(&old, &[], &["migrate", "--json"])), ["5"]);

    // None of them: only the baseline, then 4 and 5.
    let status = json(&p.run(&fresh, &[], &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "fresh", "{status}");
    assert_eq!(
        ran(&p.run(&fresh, &[], &["migrate", "--json"])),
        ["3", "4", "5"]
    );
    assert_eq!(
        roles(&fresh),
        roles(&old),
        "seeded rows, and the sequence continued"
    );
    assert_eq!(roles(&fresh), ["1:admin", "2:staff", "4:guest"]);
    let diff = p.run(&fresh, &[], &["diff", "--from", &old.url, "--to", "target"]);
    assert!(diff.status.success(), "{}", stdout(&diff));
    let status = json(&p.run(&fresh, &[], &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "baseline", "{status}");

    // Stopped part-way: refused, naming where it stopped and what to do.
    let status = json(&p.run(&partial, &[], &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "partial", "{status}");
    assert_eq!(status["squash"]["stopped_at"], "2", "{status}");
    let out = p.run(&partial, &[], &["migrate"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("stopped part-way") && err.contains("the newest it applied is 2"),
        "{err}"
    );
    assert!(err.contains("cutover migrate --to 3"), "{err}");
    assert_eq!(partial.history().len(), 2, "nothing ran");

    // One squash per folder.
    let again = p.run(&old, &[], &["squash", "--through", "4"]);
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("squashed already"),
        "{}",
        stderr(&again)
    );
}

per_engine!(three_cases);

/// A goose history: the baseline is a goose file whose statements each sit in a
/// `StatementBegin` block (goose splits at line-ending semicolons, knowing no quotes), and a
/// fresh database built from it matches one that ran the whole history.
fn goose_history(kind: Kind) {
    let function = match kind {
        Kind::Postgres => {
            "-- +goose StatementBegin\nCREATE FUNCTION lowered(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN\n  RETURN lower(t);\nEND $$;\n-- +goose StatementEnd\n"
        }
        _ => "",
    };
    let users = format!(
        "-- +goose Up\nCREATE TABLE users (id int PRIMARY KEY, role_id int REFERENCES roles (id), note varchar(50) DEFAULT 'a;b');\nCREATE VIEW admins AS SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'admin';\n{function}-- +goose Down\nDROP VIEW admins;\nDROP TABLE users;\n"
    );
    let p = Project::new(&[
        (
            "00001_roles.sql",
            "-- +goose Up\nCREATE TABLE roles (id int PRIMARY KEY, name varchar(50));\nINSERT INTO roles VALUES (1, 'admin'), (2, 'staff');\n-- +goose Down\nDROP TABLE roles;\n",
        ),
        ("00002_users.sql", &users),
        (
            "00003_email.sql",
            "-- +goose Up\nALTER TABLE users ADD COLUMN email varchar(100);\n",
        ),
    ]);
    let (old, fresh) = (TestDb::new(kind), TestDb::new(kind));
    ok(&p.run(&old, &[], &["migrate", "--to", "2"]));
    let out = p.run(
        &old,
        &[],
        &["squash", "--through", "2", "--with-data", "roles", "--json"],
    );
    assert_eq!(json(&out)["squashed"], 2);
    let baseline = std::fs::read_to_string(p.migrations().join("00002_users.sql")).unwrap();
    assert!(
        baseline.contains("-- +goose Up\n-- +goose StatementBegin\n"),
        "{baseline}"
    );
    assert!(
        p.migrations()
            .join("cutover-squashed/00001_roles.sql")
            .exists()
    );
    assert_eq!(
        ran(&p.run(&fresh, &[], &["migrate", "--json"])),
        ["00002", "00003"]
    );
    assert_eq!(ran(&p.run(&old, &[], &["migrate", "--json"])), ["00003"]);
    assert_eq!(roles(&fresh), ["1:admin", "2:staff"]);
    let diff = p.run(&fresh, &[], &["diff", "--from", &old.url, "--to", "target"]);
    assert!(diff.status.success(), "{}", stdout(&diff));
}

per_engine!(goose_history);

/// A dry run proves and changes no file; a version that names nothing changes nothing.
#[test]
fn dry_runs_and_bad_versions_change_nothing() {
    let p = Project::new(&files(Kind::Sqlite));
    let db = TestDb::new(Kind::Sqlite);
    let before = std::fs::read_dir(p.migrations()).unwrap().count();
    let out = ok(&p.run(&db, &[], &["squash", "--through", "3", "--dry-run"]));
    assert!(
        out.contains("would squash 3 migrations") && out.contains("proved"),
        "{out}"
    );
    let bad = p.run(&db, &[], &["squash", "--through", "99"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("no migration has the id or version 99"));
    assert_eq!(std::fs::read_dir(p.migrations()).unwrap().count(), before);
    assert!(!p.migrations().join("cutover-squashed").exists());
    assert!(
        !db.path().join("test.db").exists(),
        "the target was not touched"
    );
}

/// The longest history in the corpora on each engine: all but the last ten squashed and
/// proved; a database that was at the squash point and a fresh one both migrate to the end
/// (on MariaDB, the last migration that applies there) and have the same schema.
fn corpus(kind: Kind, rel: &str, init_sql: &[&str]) {
    let p = Project::from(&corpora().join(rel));
    let dialect = cutover::target::DatabaseUrl::parse(&TestDb::new(kind).url)
        .unwrap()
        .kind()
        .dialect();
    let found = cutover::migrations::discover(&p.migrations(), dialect).unwrap();
    let n = found.migrations.len();
    let through = found.migrations[n - 11].id.clone();
    let (old, fresh) = (TestDb::new(kind), TestDb::new(kind));
    ok(&p.run(&old, init_sql, &["migrate", "--to", &through]));
    let out = p.run(&old, init_sql, &["squash", "--through", &through, "--json"]);
    let report = json(&out);
    assert_eq!(
        report["squashed"].as_u64().unwrap() as usize,
        n - 10,
        "{report}"
    );
    eprintln!(
        "{rel}: squash of {} migrations: apply {} ms, dump {} ms, prove {} ms, total {} ms",
        n - 10,
        report["apply_ms"],
        report["dump_ms"],
        report["prove_ms"],
        report["total_ms"]
    );
    // On MariaDB the 345th needs MySQL 8 (see `corpora`): the end is the 344th.
    let last = found.migrations[343].id.clone();
    let mut migrate = vec!["migrate"];
    if kind == Kind::MySql {
        assert_eq!(found.migrations[344].id, "20260408000000000000");
        migrate.extend(["--to", last.as_str()]);
    }
    ok(&p.run(&old, init_sql, &migrate));
    ok(&p.run(&fresh, init_sql, &migrate));
    let status = json(&p.run(&fresh, init_sql, &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "baseline");
    let status = json(&p.run(&old, init_sql, &["status", "--json"]));
    assert_eq!(status["squash"]["case"], "complete");
    let diff = p.run(
        &fresh,
        init_sql,
        &["diff", "--from", &old.url, "--to", "target"],
    );
    assert!(diff.status.success(), "{}", stdout(&diff));
}

#[test]
fn postgres_kratos_all_but_the_last_ten() {
    corpus(Kind::Postgres, "postgres/kratos/sql", &[]);
}

#[test]
fn sqlite_kratos_all_but_the_last_ten() {
    corpus(Kind::Sqlite, "sqlite/kratos/sql", &[]);
}

#[test]
fn mariadb_kratos_all_but_the_last_ten() {
    corpus(
        Kind::MySql,
        "mysql/kratos/sql",
        &["SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'"],
    );
}

/// What the dump cannot carry fails the proof: mariadb-dump writes no grants, so a history
/// that grants a privilege cannot be squashed; the differences are listed and no file
/// changes.
#[test]
fn a_failed_proof_lists_the_differences_and_changes_nothing() {
    let db = TestDb::new(Kind::MySql);
    let user = format!("sq_{}", &db.name[db.name.len() - 6..]);
    let mut admin = db.connect();
    admin.execute(&format!("CREATE USER '{user}'@'%'")).unwrap();
    let grant = format!("GRANT SELECT ON roles TO '{user}'@'%';\n");
    let mut files = files(Kind::MySql);
    files.retain(|(p, _)| *p != "2_seed.up.sql");
    files.push(("2_grant.up.sql", &grant));
    let p = Project::new(&files);
    let out = p.run(&db, &[], &["squash", "--through", "3"]);
    // Dropping the user drops the grants the scratch databases left in mysql.tables_priv.
    admin.execute(&format!("DROP USER '{user}'@'%'")).unwrap();
    let left = format!("SELECT count(*) FROM mysql.tables_priv WHERE User = '{user}'");
    assert_eq!(db.count(&left), 0, "nothing left behind");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("does not reproduce"), "{text}");
    assert!(
        text.contains(&format!("- grant SELECT on roles to '{user}'@'%'")),
        "{text}"
    );
    assert!(p.migrations().join("1_roles.up.sql").exists());
    assert!(p.migrations().join("2_grant.up.sql").exists());
    assert!(!p.migrations().join("cutover-squashed").exists());
}
