//! `cutover adopt` through the real binary: each tool's history table created exactly as
//! that tool creates it (the DDL from its source, per engine), with rows as it writes
//! them, beside the tables its migrations made. Before adoption `migrate` and `deploy`
//! refuse (exit 13, naming the tool); a dry run shows the mapping and changes nothing;
//! adoption records what the tool applied, `status` shows it applied, and `migrate` runs
//! only the rest. Failed, dirty, rolled-back and file-less entries stop adoption until the
//! operator says how to treat them.

use std::time::Duration;

use crate::common::*;

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    db.cutover()
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn ok(db: &TestDb, args: &[&str]) -> std::process::Output {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?} on {:?}: {}{}",
        db.kind,
        stdout(&out),
        stderr(&out)
    );
    out
}

/// The last JSON document on stdout (a governed run prints its phases first).
fn last_json(out: &std::process::Output) -> serde_json::Value {
    let text = stdout(out);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {text}\n{}", stderr(out)))
}

/// Run statements on the test database, as the tool (and its migrations) did.
fn exec(db: &TestDb, sql: &[String]) {
    let mut c = db.connect();
    for s in sql {
        c.execute(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

fn status_json(db: &TestDb) -> serde_json::Value {
    let out = ok(db, &["--json", "status"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `status --json` as (id, state).
fn states(db: &TestDb) -> Vec<(String, String)> {
    status_json(db)["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The ids a `migrate --json` applied.
fn migrated(out: &std::process::Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)));
    v["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn create(t: &str) -> String {
    format!("CREATE TABLE {t} (id INT PRIMARY KEY)")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// One tool's history on one engine: its migration files (three, making `adopt_a`,
/// `adopt_b`, `adopt_c`), its table and rows recording the first two as applied, and
/// cutover's ids for the three.
struct Case {
    tool: &'static str,
    table: &'static str,
    files: Vec<(String, String)>,
    ddl: Vec<String>,
    rows: Vec<String>,
    ids: [&'static str; 3],
}

/// Three migrations in single-file layouts: `name(i)` is the path, `body(t)` the text.
fn three(name: impl Fn(usize) -> String, body: impl Fn(&str) -> String) -> Vec<(String, String)> {
    ["adopt_a", "adopt_b", "adopt_c"]
        .iter()
        .enumerate()
        .map(|(i, t)| (name(i + 1), body(t)))
        .collect()
}

fn up_down(t: &str) -> (String, String) {
    (format!("{};\n", create(t)), format!("DROP TABLE {t};\n"))
}

/// The SHA-256 Prisma records of `migration.sql` creating `table`
/// (`printf 'CREATE TABLE adopt_a (id INT PRIMARY KEY);\n' | sha256sum`).
fn prisma_sum(table: &str) -> &'static str {
    match table {
        "adopt_a" => "337aa912013e112eead19d6af859b9e12452ad5a882355f7e5585b8f923a1173",
        "adopt_b" => "f809fc606872f11949e50b1b2aa9d6f1070afb4206dd2f4170c7e432ed9fb697",
        _ => "f86e57c59d6d2a6485f36b82c176c9974d69f32e5a96c90103bcfd5275664170",
    }
}

/// Prisma: the table from prisma-engines' `create_migrations_table` of each flavour.
fn prisma(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres => {
            "CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)"
        }
        Kind::MySql => {
            "CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4"
        }
        Kind::Sqlite => {
            "CREATE TABLE \"_prisma_migrations\" (
    \"id\"                    TEXT PRIMARY KEY NOT NULL,
    \"checksum\"              TEXT NOT NULL,
    \"finished_at\"           DATETIME,
    \"migration_name\"        TEXT NOT NULL,
    \"logs\"                  TEXT,
    \"rolled_back_at\"        DATETIME,
    \"started_at\"            DATETIME NOT NULL DEFAULT current_timestamp,
    \"applied_steps_count\"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)"
        }
    };
    let row = |id: &str, name: &str, table: &str| {
        format!(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) \
             VALUES ('{id}', '{}', CURRENT_TIMESTAMP, '{name}', NULL, NULL, CURRENT_TIMESTAMP, 1)",
            prisma_sum(table)
        )
    };
    let names = ["20240101000000_a", "20240102000000_b", "20240103000000_c"];
    Case {
        tool: "prisma",
        table: "_prisma_migrations",
        files: three(
            |i| format!("migrations/{}/migration.sql", names[i - 1]),
            |t| format!("{};\n", create(t)),
        ),
        ddl: vec![ddl.to_string()],
        rows: vec![
            row("6f1c1c9e-0000-4000-8000-000000000001", names[0], "adopt_a"),
            row("6f1c1c9e-0000-4000-8000-000000000002", names[1], "adopt_b"),
        ],
        ids: ["20240101000000_a", "20240102000000_b", "20240103000000_c"],
    }
}

/// Flyway: `createMetaDataTable.sql` of each database type, with its index.
fn flyway(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres => s(&[
            "CREATE TABLE \"public\".\"flyway_schema_history\" (
    \"installed_rank\" INT NOT NULL,
    \"version\" VARCHAR(50),
    \"description\" VARCHAR(200) NOT NULL,
    \"type\" VARCHAR(20) NOT NULL,
    \"script\" VARCHAR(1000) NOT NULL,
    \"checksum\" INTEGER,
    \"installed_by\" VARCHAR(100) NOT NULL,
    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),
    \"execution_time\" INTEGER NOT NULL,
    \"success\" BOOLEAN NOT NULL
)",
            "ALTER TABLE \"public\".\"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")",
            "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"public\".\"flyway_schema_history\" (\"success\")",
        ]),
        Kind::MySql => s(&[
            "CREATE TABLE `flyway_schema_history` (
    `installed_rank` INT NOT NULL,
    `version` VARCHAR(50),
    `description` VARCHAR(200) NOT NULL,
    `type` VARCHAR(20) NOT NULL,
    `script` VARCHAR(1000) NOT NULL,
    `checksum` INT,
    `installed_by` VARCHAR(100) NOT NULL,
    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    `execution_time` INT NOT NULL,
    `success` BOOL NOT NULL,
    CONSTRAINT `flyway_schema_history_pk`PRIMARY KEY (`installed_rank`)
) ENGINE=InnoDB",
            "CREATE INDEX `flyway_schema_history_s_idx` ON `flyway_schema_history` (`success`)",
        ]),
        Kind::Sqlite => s(&[
            "CREATE TABLE \"main\".\"flyway_schema_history\" (
    \"installed_rank\" INT NOT NULL PRIMARY KEY,
    \"version\" VARCHAR(50),
    \"description\" VARCHAR(200) NOT NULL,
    \"type\" VARCHAR(20) NOT NULL,
    \"script\" VARCHAR(1000) NOT NULL,
    \"checksum\" INT,
    \"installed_by\" VARCHAR(100) NOT NULL,
    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    \"execution_time\" INT NOT NULL,
    \"success\" BOOLEAN NOT NULL
)",
            "CREATE INDEX \"main\".\"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\")",
        ]),
    };
    // Flyway's CRC32 of each script's lines:
    // `python3 -c "import zlib; print(zlib.crc32(b'CREATE TABLE adopt_a (id INT PRIMARY KEY);'))"`.
    let row = |rank: u32, v: &str, script: &str, crc: i64| {
        format!(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
             VALUES ({rank}, '{v}', 'create', 'SQL', '{script}', {crc}, 'app', 12, TRUE)"
        )
    };
    Case {
        tool: "flyway",
        table: "flyway_schema_history",
        files: three(
            |i| format!("migrations/V{i}__create.sql"),
            |t| format!("{};\n", create(t)),
        ),
        ddl,
        rows: vec![
            row(1, "1", "V1__create.sql", 1_477_626_190),
            row(2, "2", "V2__create.sql", 788_000_883),
        ],
        ids: ["1", "2", "3"],
    }
}

/// golang-migrate: each driver's `ensureVersionTable`.
fn golang_migrate_table(kind: Kind) -> Vec<String> {
    match kind {
        Kind::Postgres => s(&[
            "CREATE TABLE IF NOT EXISTS \"public\".\"schema_migrations\" (version bigint not null primary key, dirty boolean not null)",
        ]),
        Kind::MySql => s(&[
            "CREATE TABLE `schema_migrations` (version bigint not null primary key, dirty boolean not null)",
        ]),
        Kind::Sqlite => s(&[
            "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)",
            "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)",
        ]),
    }
}

fn golang_migrate_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for (i, t) in ["adopt_a", "adopt_b", "adopt_c"].iter().enumerate() {
        let (up, down) = up_down(t);
        files.push((format!("migrations/00000{}_{t}.up.sql", i + 1), up));
        files.push((format!("migrations/00000{}_{t}.down.sql", i + 1), down));
    }
    files
}

fn golang_migrate(kind: Kind) -> Case {
    Case {
        tool: "golang-migrate",
        table: "schema_migrations",
        files: golang_migrate_files(),
        ddl: golang_migrate_table(kind),
        // One row: the current version (golang-migrate deletes and inserts it).
        rows: s(&["INSERT INTO schema_migrations (version, dirty) VALUES (2, FALSE)"]),
        ids: ["000001", "000002", "000003"],
    }
}

/// dbmate: `CreateMigrationsTable` of each driver.
fn dbmate(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres => {
            "create table if not exists \"public\".\"schema_migrations\" (version varchar(128) primary key)"
        }
        Kind::MySql => {
            "create table if not exists `schema_migrations` (version varchar(128) primary key)"
        }
        Kind::Sqlite => {
            "create table if not exists \"schema_migrations\" (version varchar(128) primary key)"
        }
    };
    let versions = ["20240101000000", "20240102000000", "20240103000000"];
    Case {
        tool: "dbmate",
        table: "schema_migrations",
        files: three(
            |i| format!("migrations/{}_create.sql", versions[i - 1]),
            |t| {
                format!(
                    "-- migrate:up\n{};\n\n-- migrate:down\nDROP TABLE {t};\n",
                    create(t)
                )
            },
        ),
        ddl: s(&[ddl]),
        rows: s(&[
            "insert into schema_migrations (version) values ('20240101000000')",
            "insert into schema_migrations (version) values ('20240102000000')",
        ]),
        ids: versions,
    }
}

/// sqlx: `ensure_migrations_table` of sqlx-postgres, sqlx-mysql and sqlx-sqlite 0.9.
fn sqlx(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"
        }
        Kind::MySql | Kind::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)"
        }
    };
    let versions = ["20240101000000", "20240102000000", "20240103000000"];
    let files = three(
        |i| format!("migrations/{}_create.sql", versions[i - 1]),
        |t| format!("{};\n", create(t)),
    );
    // sqlx's checksum: the SHA-384 of the file's text, as bytes.
    let row = |i: usize| {
        use sha2::{Digest, Sha384};
        let hex: String = Sha384::digest(files[i].1.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let bytes = match kind {
            Kind::Postgres => format!("decode('{hex}', 'hex')"),
            _ => format!("X'{hex}'"),
        };
        format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ({}, 'create', TRUE, {bytes}, 1200)",
            versions[i]
        )
    };
    Case {
        tool: "sqlx",
        table: "_sqlx_migrations",
        rows: vec![row(0), row(1)],
        files,
        ddl: vec![ddl.to_string()],
        ids: versions,
    }
}

/// goose: `dialectquery` `CreateTable` of each dialect; goose writes version 0 with it.
fn goose(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres | Kind::MySql => {
            "CREATE TABLE goose_db_version (
		id serial NOT NULL,
		version_id bigint NOT NULL,
		is_applied boolean NOT NULL,
		tstamp timestamp NULL default now(),
		PRIMARY KEY(id)
	)"
        }
        Kind::Sqlite => {
            "CREATE TABLE goose_db_version (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		version_id INTEGER NOT NULL,
		is_applied INTEGER NOT NULL,
		tstamp TIMESTAMP DEFAULT (datetime('now'))
	)"
        }
    };
    Case {
        tool: "goose",
        table: "goose_db_version",
        files: three(
            |i| format!("migrations/0000{i}_create.sql"),
            |t| {
                format!(
                    "-- +goose Up\n{};\n\n-- +goose Down\nDROP TABLE {t};\n",
                    create(t)
                )
            },
        ),
        ddl: vec![ddl.to_string()],
        rows: s(&[
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, TRUE)",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, TRUE)",
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, TRUE)",
        ]),
        ids: ["00001", "00002", "00003"],
    }
}

/// Diesel: `setup_migration_table.sql`, the same on every backend.
fn diesel(_: Kind) -> Case {
    let folders = [
        "2024-01-01-000000_create_a",
        "2024-01-02-000000_create_b",
        "2024-01-03-000000_create_c",
    ];
    let mut files = Vec::new();
    for (f, t) in folders.iter().zip(["adopt_a", "adopt_b", "adopt_c"]) {
        let (up, down) = up_down(t);
        files.push((format!("migrations/{f}/up.sql"), up));
        files.push((format!("migrations/{f}/down.sql"), down));
    }
    Case {
        tool: "diesel",
        table: "__diesel_schema_migrations",
        files,
        ddl: s(&["CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)"]),
        rows: s(&[
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')",
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240102000000')",
        ]),
        ids: folders,
    }
}

/// Liquibase: the table as `liquibase update-sql` prints it for each database.
fn liquibase(kind: Kind) -> Case {
    let date = match kind {
        Kind::Postgres => "TIMESTAMP WITHOUT TIME ZONE",
        Kind::MySql => "datetime",
        Kind::Sqlite => "TEXT",
    };
    let ddl = format!(
        "CREATE TABLE DATABASECHANGELOG (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, \
         FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED {date} NOT NULL, ORDEREXECUTED INTEGER NOT NULL, \
         EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), \
         TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), \
         DEPLOYMENT_ID VARCHAR(10))"
    );
    let row = |id: u32, exectype: &str| {
        format!(
            "INSERT INTO DATABASECHANGELOG (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, MD5SUM, DESCRIPTION, \
             COMMENTS, EXECTYPE, CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID) VALUES ('{id}', 'alice', \
             'db/changelog/changelog.sql', CURRENT_TIMESTAMP, {id}, '9:2c4e3a3b1d', 'sql', '', '{exectype}', NULL, \
             NULL, '4.29.2', '3217654321')"
        )
    };
    let mut log = String::from("--liquibase formatted sql\n");
    for (i, t) in ["adopt_a", "adopt_b", "adopt_c"].iter().enumerate() {
        log.push_str(&format!(
            "\n--changeset alice:{}\n{};\n--rollback DROP TABLE {t};\n",
            i + 1,
            create(t)
        ));
    }
    Case {
        tool: "liquibase",
        table: "DATABASECHANGELOG",
        files: vec![("migrations/changelog.sql".into(), log)],
        ddl: vec![ddl],
        // The second was synced (`changelog-sync`), not run: Liquibase will not run it.
        rows: vec![row(1, "EXECUTED"), row(2, "MARK_RAN")],
        ids: [
            "changelog.sql::1::alice",
            "changelog.sql::2::alice",
            "changelog.sql::3::alice",
        ],
    }
}

/// Laravel: the schema builder's `migrations` table (`increments('id')`,
/// `string('migration')`, `integer('batch')`) as each grammar compiles it.
fn laravel(kind: Kind) -> Case {
    let ddl = match kind {
        Kind::Postgres => {
            "create table \"migrations\" (\"id\" serial not null primary key, \"migration\" varchar(255) not null, \"batch\" integer not null)"
        }
        Kind::MySql => {
            "create table `migrations` (`id` int unsigned not null auto_increment primary key, `migration` varchar(255) not null, `batch` int not null) default character set utf8mb4 collate 'utf8mb4_unicode_ci'"
        }
        Kind::Sqlite => {
            "create table \"migrations\" (\"id\" integer primary key autoincrement not null, \"migration\" varchar not null, \"batch\" integer not null)"
        }
    };
    let stems = [
        "2024_01_01_000000_create_a",
        "2024_01_02_000000_create_b",
        "2024_01_03_000000_create_c",
    ];
    Case {
        tool: "laravel",
        table: "migrations",
        files: three(
            |i| format!("migrations/{}.sql", stems[i - 1]),
            |t| format!("{};\n", create(t)),
        ),
        ddl: s(&[ddl]),
        rows: s(&[
            "insert into migrations (migration, batch) values ('2024_01_01_000000_create_a', 1)",
            "insert into migrations (migration, batch) values ('2024_01_02_000000_create_b', 2)",
        ]),
        ids: ["20240101000000", "20240102000000", "20240103000000"],
    }
}

/// Set the case up: files, the tool's table and rows, and what its first two migrations
/// made.
fn setup(db: &TestDb, case: &Case) {
    let files: Vec<(&str, &str)> = case
        .files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    write_files(db.path(), &files);
    exec(db, &case.ddl);
    exec(db, &case.rows);
    exec(db, &[create("adopt_a"), create("adopt_b")]);
}

/// The whole story for one tool on one engine.
fn adopt_story(db: &TestDb, case: &Case) {
    let rows_before = db.count(&format!("SELECT count(*) FROM {}", case.table));
    // Refused before adoption: exit 13, naming the tool and the way on.
    let refused = run(db, &["migrate"]);
    assert_eq!(refused.status.code(), Some(13), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains(case.tool) && err.contains("cutover adopt"),
        "{err}"
    );
    assert!(
        !db.has_table("cutover_migrations"),
        "a refused migrate created the history"
    );
    // `status` says whose history is there and what to do.
    let v = status_json(db);
    assert_eq!(v["foreign"]["tool"], case.tool, "{v}");
    let table = v["foreign"]["table"].as_str().unwrap_or_default();
    assert!(table.eq_ignore_ascii_case(case.table), "{v}");
    let human = stdout(&ok(db, &["status"]));
    assert!(human.contains("cutover adopt --dry-run"), "{human}");

    // A dry run: the mapping, and nothing changed.
    let dry = last_json(&ok(db, &["--json", "adopt", "--dry-run"]));
    let adoption = &dry["report"]["adoption"];
    assert_eq!(adoption["tool"], case.tool, "{dry}");
    let recorded: Vec<&str> = adoption["recorded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(recorded, case.ids[..2], "{dry}");
    assert!(
        adoption["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "record"),
        "{dry}"
    );
    assert!(!db.has_table("cutover_migrations") && !db.has_table("cutover_runs"));
    let human = stdout(&ok(db, &["adopt", "--dry-run"]));
    assert!(
        human.contains("record as applied") && human.contains(case.ids[1]),
        "{human}"
    );

    // Adopt: recorded, nothing run, the tool's table left as it was.
    ok(db, &["adopt", "--yes"]);
    let st = states(db);
    let expect: Vec<(String, String)> = case
        .ids
        .iter()
        .zip(["applied", "applied", "pending"])
        .map(|(i, s)| (i.to_string(), s.to_string()))
        .collect();
    assert_eq!(st, expect);
    assert_eq!(
        db.count(&format!("SELECT count(*) FROM {}", case.table)),
        rows_before
    );
    assert!(status_json(db).get("foreign").is_none());

    // Adopting again has nothing to do; migrate runs only the rest.
    ok(db, &["adopt", "--yes"]);
    let out = ok(db, &["--json", "migrate"]);
    assert_eq!(migrated(&out), [case.ids[2]]);
    assert!(db.has_table("adopt_c"));
}

fn story(kind: Kind, case: fn(Kind) -> Case) {
    let db = TestDb::new(kind);
    let case = case(kind);
    setup(&db, &case);
    adopt_story(&db, &case);
}

fn prisma_history(kind: Kind) {
    story(kind, prisma)
}
fn flyway_history(kind: Kind) {
    story(kind, flyway)
}
fn golang_migrate_history(kind: Kind) {
    story(kind, golang_migrate)
}
fn dbmate_history(kind: Kind) {
    story(kind, dbmate)
}
fn sqlx_history(kind: Kind) {
    story(kind, sqlx)
}
fn goose_history(kind: Kind) {
    story(kind, goose)
}
fn diesel_history(kind: Kind) {
    story(kind, diesel)
}
fn liquibase_history(kind: Kind) {
    story(kind, liquibase)
}
fn laravel_history(kind: Kind) {
    story(kind, laravel)
}

per_engine!(
    prisma_history,
    flyway_history,
    golang_migrate_history,
    dbmate_history,
    sqlx_history,
    goose_history,
    diesel_history,
    liquibase_history,
    laravel_history,
);

/// sqitch's registry on PostgreSQL: `pg.sql` with `:"registry"` set to `sqitch` and no
/// `:tableopts` (its COMMENT statements left out: they change no column).
const SQITCH_REGISTRY: &[&str] = &[
    "CREATE SCHEMA \"sqitch\"",
    "CREATE TABLE \"sqitch\".releases (
    version         REAL        PRIMARY KEY,
    installed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    installer_name  TEXT        NOT NULL,
    installer_email TEXT        NOT NULL
)",
    "CREATE TABLE \"sqitch\".projects (
    project         TEXT        PRIMARY KEY,
    uri             TEXT            NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    creator_name    TEXT        NOT NULL,
    creator_email   TEXT        NOT NULL
)",
    "CREATE TABLE \"sqitch\".changes (
    change_id       TEXT        PRIMARY KEY,
    script_hash     TEXT            NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES \"sqitch\".projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, script_hash)
)",
    "CREATE TABLE \"sqitch\".tags (
    tag_id          TEXT        PRIMARY KEY,
    tag             TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES \"sqitch\".projects(project) ON UPDATE CASCADE,
    change_id       TEXT        NOT NULL REFERENCES \"sqitch\".changes(change_id) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, tag)
)",
    "CREATE TABLE \"sqitch\".dependencies (
    change_id       TEXT        NOT NULL REFERENCES \"sqitch\".changes(change_id) ON UPDATE CASCADE ON DELETE CASCADE,
    type            TEXT        NOT NULL,
    dependency      TEXT        NOT NULL,
    dependency_id   TEXT            NULL REFERENCES \"sqitch\".changes(change_id) ON UPDATE CASCADE CONSTRAINT dependencies_check CHECK (
            (type = 'require'  AND dependency_id IS NOT NULL)
         OR (type = 'conflict' AND dependency_id IS NULL)
    ),
    PRIMARY KEY (change_id, dependency)
)",
    "CREATE TABLE \"sqitch\".events (
    event           TEXT        NOT NULL CONSTRAINT events_event_check CHECK (event IN ('deploy', 'revert', 'fail', 'merge')),
    change_id       TEXT        NOT NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES \"sqitch\".projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    requires        TEXT[]      NOT NULL DEFAULT '{}',
    conflicts       TEXT[]      NOT NULL DEFAULT '{}',
    tags            TEXT[]      NOT NULL DEFAULT '{}',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    PRIMARY KEY (change_id, committed_at)
)",
];

/// sqitch's registry on SQLite: `sqlite.sql`, run in a file of its own.
const SQITCH_REGISTRY_SQLITE: &[&str] = &[
    "CREATE TABLE releases (
    version         FLOAT       PRIMARY KEY,
    installed_at    DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    installer_name  TEXT        NOT NULL,
    installer_email TEXT        NOT NULL
)",
    "CREATE TABLE projects (
    project         TEXT        PRIMARY KEY,
    uri             TEXT            NULL UNIQUE,
    created_at      DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    creator_name    TEXT        NOT NULL,
    creator_email   TEXT        NOT NULL
)",
    "CREATE TABLE changes (
    change_id       TEXT        PRIMARY KEY,
    script_hash     TEXT            NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      DATETIME    NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, script_hash)
)",
    "CREATE TABLE tags (
    tag_id          TEXT        PRIMARY KEY,
    tag             TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES projects(project) ON UPDATE CASCADE,
    change_id       TEXT        NOT NULL REFERENCES changes(change_id) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      DATETIME    NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, tag)
)",
    "CREATE TABLE dependencies (
    change_id       TEXT        NOT NULL REFERENCES changes(change_id) ON UPDATE CASCADE ON DELETE CASCADE,
    type            TEXT        NOT NULL,
    dependency      TEXT        NOT NULL,
    dependency_id   TEXT            NULL REFERENCES changes(change_id) ON UPDATE CASCADE
                                         CONSTRAINT dependencies_check CHECK (
            (type = 'require'  AND dependency_id IS NOT NULL)
         OR (type = 'conflict' AND dependency_id IS NULL)
    ),
    PRIMARY KEY (change_id, dependency)
)",
    "CREATE TABLE events (
    event           TEXT        NOT NULL CONSTRAINT events_event_check CHECK (
        event IN ('deploy', 'revert', 'fail', 'merge')
    ),
    change_id       TEXT        NOT NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    requires        TEXT        NOT NULL DEFAULT '',
    conflicts       TEXT        NOT NULL DEFAULT '',
    tags            TEXT        NOT NULL DEFAULT '',
    committed_at    DATETIME    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      DATETIME    NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    PRIMARY KEY (change_id, committed_at)
)",
];

/// sqitch's registry on MariaDB: `mysql.sql` with `:prefix:` set to the registry database,
/// run under the `ansi` sql_mode it sets (its `"change"` columns), COMMENTs and all.
fn sqitch_registry_mysql(reg: &str) -> Vec<String> {
    let table = |name: &str, body: &str, comment: &str| {
        format!(
            "CREATE TABLE {reg}.{name} (\n{body}\n) ENGINE  InnoDB,\n  CHARACTER SET 'utf8',\n  COMMENT '{comment}'"
        )
    };
    let check = "SET @dummy := checkit(
            (NEW.type = 'require'  AND NEW.dependency_id IS NOT NULL)
         OR (NEW.type = 'conflict' AND NEW.dependency_id IS NULL),
        'Type must be \"require\" with dependency_id set or \"conflict\" with dependency_id not set'
    );";
    vec![
        format!("CREATE DATABASE {reg}"),
        "SET SESSION sql_mode = ansi".into(),
        table(
            "releases",
            "    version         FLOAT(4, 1)   PRIMARY KEY COMMENT 'Version of the Sqitch registry.',
    installed_at    DATETIME(6)   NOT NULL COMMENT 'Date the registry release was installed.',
    installer_name  VARCHAR(255)  NOT NULL COMMENT 'Name of the user who installed the registry release.',
    installer_email VARCHAR(255)  NOT NULL COMMENT 'Email address of the user who installed the registry release.'",
            "Sqitch registry releases.",
        ),
        table(
            "projects",
            "    project         VARCHAR(255) PRIMARY KEY COMMENT 'Unique Name of a project.',
    uri             VARCHAR(255) NULL UNIQUE COMMENT 'Optional project URI',
    created_at      DATETIME(6)  NOT NULL COMMENT 'Date the project was added to the database.',
    creator_name    VARCHAR(255) NOT NULL COMMENT 'Name of the user who added the project.',
    creator_email   VARCHAR(255) NOT NULL COMMENT 'Email address of the user who added the project.'",
            "Sqitch projects deployed to this database.",
        ),
        table(
            "changes",
            &format!("    change_id       VARCHAR(40)  PRIMARY KEY COMMENT 'Change primary key.',
    script_hash     VARCHAR(40)      NULL COMMENT 'Deploy script SHA-1 hash.',
    \"change\"        VARCHAR(255) NOT NULL COMMENT 'Name of a deployed change.',
    project         VARCHAR(255) NOT NULL COMMENT 'Name of the Sqitch project to which the change belongs.'
                    REFERENCES {reg}.projects(project) ON UPDATE CASCADE,
    note            TEXT         NOT NULL COMMENT 'Description of the change.',
    committed_at    DATETIME(6)  NOT NULL COMMENT 'Date the change was deployed.',
    committer_name  VARCHAR(255) NOT NULL COMMENT 'Name of the user who deployed the change.',
    committer_email VARCHAR(255) NOT NULL COMMENT 'Email address of the user who deployed the change.',
    planned_at      DATETIME(6)  NOT NULL COMMENT 'Date the change was added to the plan.',
    planner_name    VARCHAR(255) NOT NULL COMMENT 'Name of the user who planed the change.',
    planner_email   VARCHAR(255) NOT NULL COMMENT 'Email address of the user who planned the change.',
    UNIQUE(project, script_hash)"),
            "Tracks the changes currently deployed to the database.",
        ),
        table(
            "tags",
            &format!("    tag_id          VARCHAR(40)  PRIMARY KEY COMMENT 'Tag primary key.',
    tag             VARCHAR(255) NOT NULL COMMENT 'Project-unique tag name.',
    project         VARCHAR(255) NOT NULL COMMENT 'Name of the Sqitch project to which the tag belongs.'
                    REFERENCES {reg}.projects(project) ON UPDATE CASCADE,
    change_id       VARCHAR(40)  NOT NULL COMMENT 'ID of last change deployed before the tag was applied.'
                    REFERENCES {reg}.changes(change_id) ON UPDATE CASCADE,
    note            VARCHAR(255) NOT NULL COMMENT 'Description of the tag.',
    committed_at    DATETIME(6)  NOT NULL COMMENT 'Date the tag was applied to the database.',
    committer_name  VARCHAR(255) NOT NULL COMMENT 'Name of the user who applied the tag.',
    committer_email VARCHAR(255) NOT NULL COMMENT 'Email address of the user who applied the tag.',
    planned_at      DATETIME(6)  NOT NULL COMMENT 'Date the tag was added to the plan.',
    planner_name    VARCHAR(255) NOT NULL COMMENT 'Name of the user who planed the tag.',
    planner_email   VARCHAR(255) NOT NULL COMMENT 'Email address of the user who planned the tag.',
    UNIQUE(project, tag)"),
            "Tracks the tags currently applied to the database.",
        ),
        table(
            "dependencies",
            &format!("    change_id       VARCHAR(40)  NOT NULL COMMENT 'ID of the depending change.'
                    REFERENCES {reg}.changes(change_id) ON UPDATE CASCADE ON DELETE CASCADE,
    type            VARCHAR(8)   NOT NULL COMMENT 'Type of dependency.',
    dependency      VARCHAR(255) NOT NULL COMMENT 'Dependency name.',
    dependency_id   VARCHAR(40)      NULL COMMENT 'Change ID the dependency resolves to.'
                    REFERENCES {reg}.changes(change_id) ON UPDATE CASCADE,
    PRIMARY KEY (change_id, dependency)"),
            "Tracks the currently satisfied dependencies.",
        ),
        table(
            "events",
            &format!("    event           ENUM ('deploy', 'fail', 'merge', 'revert') NOT NULL COMMENT 'Type of event.',
    change_id       VARCHAR(40)  NOT NULL COMMENT 'Change ID.',
    \"change\"        VARCHAR(255) NOT NULL COMMENT 'Change name.',
    project         VARCHAR(255) NOT NULL COMMENT 'Name of the Sqitch project to which the change belongs.'
                    REFERENCES {reg}.projects(project) ON UPDATE CASCADE,
    note            TEXT         NOT NULL COMMENT 'Description of the change.',
    requires        TEXT         NOT NULL COMMENT 'List of the names of required changes.',
    conflicts       TEXT         NOT NULL COMMENT 'List of the names of conflicting changes.',
    tags            TEXT         NOT NULL COMMENT 'List of tags associated with the change.',
    committed_at    DATETIME(6)  NOT NULL COMMENT 'Date the event was committed.',
    committer_name  VARCHAR(255) NOT NULL COMMENT 'Name of the user who committed the event.',
    committer_email VARCHAR(255) NOT NULL COMMENT 'Email address of the user who committed the event.',
    planned_at      DATETIME(6)  NOT NULL COMMENT 'Date the event was added to the plan.',
    planner_name    VARCHAR(255) NOT NULL COMMENT 'Name of the user who planed the change.',
    planner_email   VARCHAR(255) NOT NULL COMMENT 'Email address of the user who plan planned the change.',
    PRIMARY KEY (change_id, committed_at)"),
            "Contains full history of all deployment events.",
        ),
        format!(
            "CREATE FUNCTION {reg}.checkit(doit INTEGER, message VARCHAR(256)) RETURNS INTEGER DETERMINISTIC
BEGIN
    IF doit IS NULL OR doit = 0 THEN
        SIGNAL SQLSTATE 'ERR0R' SET MESSAGE_TEXT = message;
    END IF;
    RETURN doit;
END"
        ),
        format!(
            "CREATE TRIGGER {reg}.ck_insert_dependency BEFORE INSERT ON {reg}.dependencies\nFOR EACH ROW BEGIN\n    {check}\nEND"
        ),
        format!(
            "CREATE TRIGGER {reg}.ck_update_dependency BEFORE UPDATE ON {reg}.dependencies\nFOR EACH ROW BEGIN\n    {check}\nEND"
        ),
    ]
}

/// One deployed change as sqitch records it: its `changes` row and its `deploy` event.
/// `hash` is the SHA-1 of its deploy script (`sha1sum deploy/users@v1.sql`).
fn sqitch_deployed(
    reg: &str,
    project: &str,
    (change, id, hash): (&str, &str, &str),
    minute: u32,
) -> Vec<String> {
    let at = format!("'2024-01-01 10:{minute:02}:00'");
    let planned = "'2012-07-03 20:53:06'";
    let who = "'Marge', 'marge@example.com'";
    vec![
        format!(
            "INSERT INTO {reg}.changes (change_id, script_hash, {q}, project, note, committed_at, committer_name, \
             committer_email, planned_at, planner_name, planner_email) VALUES ('{id}', '{hash}', '{change}', '{project}', '', \
             {at}, {who}, {planned}, {who})",
            q = "\"change\""
        ),
        format!(
            "INSERT INTO {reg}.events (event, change_id, {q}, project, note, requires, conflicts, tags, committed_at, \
             committer_name, committer_email, planned_at, planner_name, planner_email) VALUES ('deploy', '{id}', \
             '{change}', '{project}', '', {empty}, {empty}, {empty}, {at}, {who}, {planned}, {who})",
            q = "\"change\"",
            empty = if reg == "sqitch" { "'{}'" } else { "''" },
        ),
    ]
}

/// Drops the registry database a MariaDB test made beside its own.
struct DropDatabase<'a>(&'a TestDb, String);

impl Drop for DropDatabase<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .connect()
            .execute(&format!("DROP DATABASE IF EXISTS {}", self.1));
    }
}

/// sqitch with a reworked change: the registry's second `users` is cutover's `users#2`;
/// another project's change in the same registry is not this one's; only `notes` is left
/// to run. PostgreSQL keeps the registry in the `sqitch` schema of the target; MariaDB in a
/// database beside it, named by `sqitch.conf`.
fn sqitch_registry(kind: Kind) {
    let db = TestDb::new(kind);
    let (reg, engine) = match kind {
        Kind::Postgres => ("sqitch".to_string(), "pg"),
        // The registry is its own file, `sqitch.db` beside `test.db`, filled through a
        // connection of its own (its tables in `main`).
        Kind::Sqlite => ("main".to_string(), "sqlite"),
        _ => (format!("{}_sqitch", db.name), "mysql"),
    };
    let _cleanup = (kind == Kind::MySql).then(|| DropDatabase(&db, reg.clone()));
    let plan = "%syntax-version=1.0.0\n%project=flipr\n\n\
users 2012-07-03T20:53:06Z Marge N. O'Vera <marge@example.com> # users\n\
flips [users] 2012-07-03T21:18:31Z Marge N. O'Vera <marge@example.com> # flips\n\
@v1 2012-07-03T21:43:11Z Marge N. O'Vera <marge@example.com> # tag\n\n\
users [users@v1] 2012-07-04T12:00:00Z Marge N. O'Vera <marge@example.com> # twitter\n\
notes 2012-07-05T12:00:00Z Marge N. O'Vera <marge@example.com> # notes\n";
    let conf = match kind {
        Kind::Postgres | Kind::Sqlite => format!("[core]\n\tengine = {engine}\n"),
        _ => format!("[core]\n\tengine = {engine}\n[engine \"{engine}\"]\n\tregistry = {reg}\n"),
    };
    write_files(
        db.path(),
        &[
            ("migrations/sqitch.plan", plan),
            ("migrations/sqitch.conf", &conf),
            (
                "migrations/deploy/users@v1.sql",
                "BEGIN;\nCREATE TABLE users (nickname VARCHAR(50) PRIMARY KEY);\nCOMMIT;\n",
            ),
            ("migrations/revert/users@v1.sql", "DROP TABLE users;\n"),
            (
                "migrations/deploy/flips.sql",
                "CREATE TABLE flips (id INT PRIMARY KEY);\n",
            ),
            ("migrations/revert/flips.sql", "DROP TABLE flips;\n"),
            (
                "migrations/deploy/users.sql",
                "ALTER TABLE users ADD twitter VARCHAR(50);\n",
            ),
            (
                "migrations/revert/users.sql",
                "ALTER TABLE users DROP COLUMN twitter;\n",
            ),
            (
                "migrations/deploy/notes.sql",
                "CREATE TABLE notes (id INT PRIMARY KEY);\n",
            ),
            ("migrations/revert/notes.sql", "DROP TABLE notes;\n"),
        ],
    );
    let mut sql = match kind {
        Kind::Postgres => s(SQITCH_REGISTRY),
        Kind::Sqlite => s(SQITCH_REGISTRY_SQLITE),
        _ => sqitch_registry_mysql(&reg),
    };
    for (project, uri) in [("flipr", "NULL"), ("other", "'https://example.com/other'")] {
        sql.push(format!(
            "INSERT INTO {reg}.projects (project, uri, created_at, creator_name, creator_email) \
             VALUES ('{project}', {uri}, '2024-01-01 09:00:00', 'Marge', 'marge@example.com')"
        ));
    }
    sql.push(format!(
        "INSERT INTO {reg}.releases (version, installed_at, installer_name, installer_email) \
         VALUES (1.1, '2024-01-01 09:00:00', 'Marge', 'marge@example.com')"
    ));
    let users = ("users", "a1", "3e5eb2a8244ba5dbbd599d9ae5c81f36e2fbb899");
    let flips = ("flips", "b2", "ffc6d4e70a5de2309f97c7efe542e8c2655ab805");
    let twitter = ("users", "c3", "30ac3eb725ba7ff5dd53101709704620bc1f4857");
    sql.extend(sqitch_deployed(&reg, "flipr", users, 1));
    sql.extend(sqitch_deployed(&reg, "flipr", flips, 2));
    sql.extend(sqitch_deployed(&reg, "flipr", twitter, 3));
    sql.extend(sqitch_deployed(&reg, "other", ("notes", "d4", "d4"), 4));
    let tables = [
        "CREATE TABLE users (nickname VARCHAR(50) PRIMARY KEY, twitter VARCHAR(50))".to_string(),
        "CREATE TABLE flips (id INT PRIMARY KEY)".into(),
    ];
    if kind == Kind::Sqlite {
        let url = format!("sqlite://{}", db.path().join("sqitch.db").display());
        let mut registry = cutover::engine::connect(
            &cutover::target::DatabaseUrl::parse(&url).unwrap(),
            &cutover::engine::ConnectOptions::default(),
        )
        .unwrap();
        for q in &sql {
            registry.execute(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
        sql = tables.to_vec();
    } else {
        sql.extend(tables);
    }
    exec(&db, &sql);
    let refused = run(&db, &["migrate"]);
    assert_eq!(refused.status.code(), Some(13), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("sqitch"));
    ok(&db, &["adopt", "--yes"]);
    assert_eq!(
        states(&db),
        [
            ("users".to_string(), "applied".to_string()),
            ("flips".into(), "applied".into()),
            ("users#2".into(), "applied".into()),
            ("notes".into(), "pending".into()),
        ]
    );
    assert_eq!(migrated(&ok(&db, &["--json", "migrate"])), ["notes"]);
}

#[test]
fn sqitch_registry_postgres() {
    sqitch_registry(Kind::Postgres)
}

#[test]
fn sqitch_registry_sqlite() {
    sqitch_registry(Kind::Sqlite)
}

#[test]
fn sqitch_registry_mariadb() {
    sqitch_registry(Kind::MySql)
}

/// golang-migrate's `dirty` flag: version 2 failed part-way. Adoption stops and says so,
/// changing nothing; `--failed pending` records version 1 and leaves 2 to run again.
#[test]
fn golang_migrate_dirty_stops_until_told() {
    let db = TestDb::new(Kind::Postgres);
    let mut case = golang_migrate(Kind::Postgres);
    case.rows = s(&["INSERT INTO schema_migrations (version, dirty) VALUES (2, TRUE)"]);
    write_files(
        db.path(),
        &case
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
    );
    exec(&db, &case.ddl);
    exec(&db, &case.rows);
    exec(&db, &[create("adopt_a")]);
    let out = run(&db, &["adopt", "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("dirty") && err.contains("--failed"), "{err}");
    assert!(!db.has_table("cutover_migrations"));
    ok(&db, &["adopt", "--failed", "pending", "--yes"]);
    let st: Vec<String> = states(&db).into_iter().map(|(_, s)| s).collect();
    assert_eq!(st, ["applied", "pending", "pending"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["000002", "000003"]
    );
}

/// Prisma rows that failed (`finished_at` empty) and were rolled back (`rolled_back_at`)
/// stop adoption with both listed; told how, it records the first as applied and leaves
/// the second pending.
#[test]
fn prisma_failed_and_rolled_back() {
    let db = TestDb::new(Kind::MySql);
    let mut case = prisma(Kind::MySql);
    let (b, c) = (prisma_sum("adopt_b"), prisma_sum("adopt_c"));
    case.rows = vec![
        case.rows[0].clone(),
        format!(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count) \
             VALUES ('b', '{b}', NULL, '20240102000000_b', 'Database error code: 1050', CURRENT_TIMESTAMP(3), 0)"
        ),
        format!(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, rolled_back_at, started_at, applied_steps_count) \
             VALUES ('c', '{c}', NULL, '20240103000000_c', CURRENT_TIMESTAMP(3), CURRENT_TIMESTAMP(3), 0)"
        ),
    ];
    setup(&db, &case);
    let out = run(&db, &["adopt", "--dry-run"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("20240102000000_b: failed") && err.contains("20240103000000_c: rolled back"),
        "{err}"
    );
    ok(
        &db,
        &[
            "adopt",
            "--failed",
            "applied",
            "--rolled-back",
            "pending",
            "--yes",
        ],
    );
    let st: Vec<String> = states(&db).into_iter().map(|(_, s)| s).collect();
    assert_eq!(st, ["applied", "applied", "pending"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["20240103000000_c"]
    );
}

/// A Laravel row whose file is gone stops adoption, named; `--ignore-missing` leaves it out.
#[test]
fn laravel_entry_without_a_file() {
    let db = TestDb::new(Kind::Sqlite);
    let mut case = laravel(Kind::Sqlite);
    case.rows.push(
        "insert into migrations (migration, batch) values ('2023_12_31_000000_create_gone', 1)"
            .into(),
    );
    setup(&db, &case);
    let out = run(&db, &["adopt", "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2023_12_31_000000_create_gone") && err.contains("--ignore-missing"),
        "{err}"
    );
    let dry = last_json(&ok(
        &db,
        &["--json", "adopt", "--ignore-missing", "--dry-run"],
    ));
    let actions: Vec<&str> = dry["report"]["adoption"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["ignore", "record", "record"], "{dry}");
    ok(&db, &["adopt", "--ignore-missing", "--yes"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["20240103000000"]
    );
}

/// goose's newest row for version 2 says `is_applied = false`: rolled back. Adoption stops
/// until `--rolled-back pending`, then leaves 2 to run.
#[test]
fn goose_rolled_back_version() {
    let db = TestDb::new(Kind::Sqlite);
    let mut case = goose(Kind::Sqlite);
    case.rows
        .push("INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, FALSE)".into());
    write_files(
        db.path(),
        &case
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
    );
    exec(&db, &case.ddl);
    exec(&db, &case.rows);
    exec(&db, &[create("adopt_a")]);
    let out = run(&db, &["adopt"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("--rolled-back"));
    ok(&db, &["adopt", "--rolled-back", "pending", "--yes"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["00002", "00003"]
    );
}

/// A Flyway baseline row makes every version up to it applied; a failed row stops
/// adoption until `--failed`.
#[test]
fn flyway_baseline_and_failure() {
    let db = TestDb::new(Kind::Postgres);
    let mut case = flyway(Kind::Postgres);
    case.rows = s(&[
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', 0, TRUE)",
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES (2, '2', 'create', 'SQL', 'V2__create.sql', 788000883, 'app', 3, TRUE)",
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES (3, '3', 'create', 'SQL', 'V3__create.sql', 1, 'app', 3, FALSE)",
    ]);
    setup(&db, &case);
    let out = run(&db, &["adopt"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("V3__create.sql failed"),
        "{}",
        stderr(&out)
    );
    ok(&db, &["adopt", "--failed", "pending", "--yes"]);
    let st: Vec<String> = states(&db).into_iter().map(|(_, s)| s).collect();
    assert_eq!(st, ["applied", "applied", "pending"]);
    assert_eq!(migrated(&ok(&db, &["--json", "migrate"])), ["3"]);
}

/// Two tools' tables: adoption asks which (`--from`, exit 2); a `deploy` is refused like
/// `migrate` (exit 13); a target with no other tool's table has nothing to adopt (exit 2).
#[test]
fn which_tool_and_deploy_refused() {
    let db = TestDb::new(Kind::Sqlite);
    let case = dbmate(Kind::Sqlite);
    setup(&db, &case);
    exec(&db, &goose(Kind::Sqlite).ddl);
    exec(
        &db,
        &s(&["INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)"]),
    );
    let deploy = run(&db, &["deploy", "--yes"]);
    assert_eq!(
        deploy.status.code(),
        Some(13),
        "{}{}",
        stdout(&deploy),
        stderr(&deploy)
    );
    assert!(stderr(&deploy).contains("dbmate"), "{}", stderr(&deploy));
    // goose's table holds only its own creation row: nothing to adopt, so no refusal from it.
    let out = run(&db, &["adopt", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));
    ok(&db, &["adopt", "--from", "dbmate", "--yes"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["20240103000000"]
    );

    let empty = TestDb::new(Kind::Sqlite);
    write_files(
        empty.path(),
        &[("migrations/1_a.sql", "CREATE TABLE a (id INT);\n")],
    );
    let out = run(&empty, &["adopt", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no other tool's history"),
        "{}",
        stderr(&out)
    );
}

/// A file edited after the tool ran it (Prisma's SHA-256 of `migration.sql` differs) stops
/// adoption, named; `--accept-edited` records it as it is now.
#[test]
fn prisma_edited_file() {
    let db = TestDb::new(Kind::Sqlite);
    let case = prisma(Kind::Sqlite);
    setup(&db, &case);
    std::fs::write(
        db.path().join("migrations/20240102000000_b/migration.sql"),
        "CREATE TABLE adopt_b (id INT PRIMARY KEY, note TEXT);\n",
    )
    .unwrap();
    let out = run(&db, &["adopt", "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("20240102000000_b: the file differs") && err.contains("--accept-edited"),
        "{err}"
    );
    assert!(!db.has_table("cutover_migrations"));
    let dry = last_json(&ok(
        &db,
        &["--json", "adopt", "--accept-edited", "--dry-run"],
    ));
    assert_eq!(
        dry["report"]["adoption"]["entries"][1]["edited"], true,
        "{dry}"
    );
    assert_eq!(
        dry["report"]["adoption"]["entries"][0]["edited"], false,
        "{dry}"
    );
    ok(&db, &["adopt", "--accept-edited", "--yes"]);
    assert_eq!(
        migrated(&ok(&db, &["--json", "migrate"])),
        ["20240103000000_c"]
    );
}

/// sqlx's SHA-384 of a file edited since sqlx ran it differs: adoption stops, naming it.
fn sqlx_edited_file(kind: Kind) {
    let db = TestDb::new(kind);
    let case = sqlx(kind);
    setup(&db, &case);
    std::fs::write(
        db.path().join("migrations/20240102000000_create.sql"),
        "CREATE TABLE adopt_b (id INT PRIMARY KEY, note TEXT);\n",
    )
    .unwrap();
    let out = run(&db, &["adopt", "--yes"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the file differs"),
        "{}",
        stderr(&out)
    );
    assert!(!db.has_table("cutover_migrations"));
}

per_engine!(sqlx_edited_file);

/// A real history taken over: all but its last five migrations applied (by cutover, whose
/// history is then dropped, leaving the database as the tool would have), the tool's table
/// written as the tool writes it for them, then adopted: every one recorded, the last five
/// run by `migrate`. `row` writes the tool's row for a migration folder.
fn real_history(
    kind: Kind,
    corpus: &str,
    table: Vec<String>,
    row: impl Fn(&std::path::Path, &str) -> String,
) {
    let db = TestDb::new(kind);
    let dir = corpora().join(corpus);
    let folder = dir.to_str().unwrap();
    let run_in = |args: &[&str]| {
        let mut all = vec!["--migrations", folder];
        all.extend_from_slice(args);
        ok(&db, &all)
    };
    let status = |out: std::process::Output| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["version"].as_str().unwrap().to_string(),
                    m["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let ids: Vec<String> = status(run_in(&["--json", "status"]))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let n = ids.len() - 5;
    run_in(&["migrate", "--to", &ids[n - 1]]);
    let mut sql = s(&["DROP TABLE cutover_migrations"]);
    sql.extend(table);
    sql.extend(ids[..n].iter().map(|id| row(&dir, id)));
    exec(&db, &sql);
    let refused = db
        .cutover()
        .args(["--migrations", folder, "migrate"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(13), "{}", stderr(&refused));
    run_in(&["adopt", "--yes"]);
    let states = status(run_in(&["--json", "status"]));
    let applied = states.iter().filter(|(_, s)| s == "applied").count();
    assert_eq!(applied, n, "{states:?}");
    assert_eq!(migrated(&run_in(&["--json", "migrate"])), ids[n..]);
}

/// documenso: 163 Prisma migrations on PostgreSQL, each row with the SHA-256 Prisma
/// records of its `migration.sql`.
#[test]
fn prisma_documenso() {
    use sha2::Digest;
    let table = prisma(Kind::Postgres).ddl;
    real_history(Kind::Postgres, "postgres/documenso", table, |dir, id| {
        let bytes = std::fs::read(dir.join(id).join("migration.sql")).unwrap();
        let sum: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) \
             VALUES ('{}', '{sum}', now(), '{id}', NULL, NULL, now(), 1)",
            uuid::Uuid::new_v4()
        )
    });
}

/// vaultwarden: 56 Diesel migrations on SQLite, whose folder names change format over the
/// years (Diesel records each as the digits before the first `_`).
#[test]
fn diesel_vaultwarden() {
    let table = diesel(Kind::Sqlite).ddl;
    real_history(Kind::Sqlite, "sqlite/vaultwarden", table, |_, id| {
        let version = id.split('_').next().unwrap().replace('-', "");
        format!("INSERT INTO __diesel_schema_migrations (version) VALUES ('{version}')")
    });
}
