//! `migrations::discover` over the real migration histories in `shared/corpora` (see its
//! SOURCES.md): the layout each one is detected as, how many migrations it has, and facts
//! pinned from the files themselves (first and last ids, dialect overrides, no-transaction
//! scripts, ordering).

use std::fs;
use std::path::{Path, PathBuf};

use cutover::migrations::{
    Discovered, Error, Layout, Migration, checksum, detect, discover, find_marker,
};
use cutover::sql::Dialect;

/// The corpora live beside the repository; a missing tree is a failure, never a skip.
fn corpora() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    assert!(
        root.join("SOURCES.md").is_file(),
        "the migration corpora are missing: expected {} (shared/corpora beside the repository)",
        root.display()
    );
    root
}

fn found(dir: &str, dialect: Dialect) -> Discovered {
    let path = corpora().join(dir);
    discover(&path, dialect).unwrap_or_else(|e| panic!("{dir}: {e}"))
}

fn ids(found: &Discovered) -> Vec<&str> {
    found.migrations.iter().map(|m| m.id.as_str()).collect()
}

fn by_id<'a>(found: &'a Discovered, id: &str) -> &'a Migration {
    found
        .migrations
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("no migration {id}"))
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// (directory, dialect, layout, migrations, migrations with a down script)
const HISTORIES: &[(&str, Dialect, Layout, usize, usize)] = &[
    (
        "postgres/lemmy",
        Dialect::Postgres,
        Layout::Diesel,
        342,
        342,
    ),
    (
        "postgres/documenso",
        Dialect::Postgres,
        Layout::Prisma,
        163,
        0,
    ),
    (
        "postgres/kratos/sql",
        Dialect::Postgres,
        Layout::Popx,
        346,
        346,
    ),
    (
        "postgres/vaultwarden",
        Dialect::Postgres,
        Layout::Diesel,
        46,
        46,
    ),
    (
        "postgres/memos",
        Dialect::Postgres,
        Layout::VersionFolders,
        26,
        0,
    ),
    (
        "postgres/atuin/atuin-server-postgres",
        Dialect::Postgres,
        Layout::SqlxSimple,
        20,
        0,
    ),
    ("mysql/kratos/sql", Dialect::MySql, Layout::Popx, 352, 352),
    ("mysql/vaultwarden", Dialect::MySql, Layout::Diesel, 55, 55),
    ("mysql/memos", Dialect::MySql, Layout::VersionFolders, 32, 0),
    ("sqlite/kratos/sql", Dialect::Sqlite, Layout::Popx, 694, 694),
    (
        "sqlite/vaultwarden",
        Dialect::Sqlite,
        Layout::Diesel,
        56,
        56,
    ),
    (
        "sqlite/memos",
        Dialect::Sqlite,
        Layout::VersionFolders,
        61,
        0,
    ),
    (
        "sqlite/atuin/atuin-client/migrations",
        Dialect::Sqlite,
        Layout::SqlxSimple,
        12,
        0,
    ),
    (
        "sqlite/atuin/atuin-client/record-migrations",
        Dialect::Sqlite,
        Layout::SqlxSimple,
        3,
        0,
    ),
    (
        "sqlite/atuin/atuin-client/meta-migrations",
        Dialect::Sqlite,
        Layout::SqlxSimple,
        1,
        0,
    ),
    (
        "sqlite/atuin/atuin-server-sqlite/migrations",
        Dialect::Sqlite,
        Layout::SqlxSimple,
        7,
        0,
    ),
    (
        "sqlite/atuin/atuin-kv/migrations",
        Dialect::Sqlite,
        Layout::Native,
        1,
        1,
    ),
    (
        "sqlite/atuin/atuin-scripts/migrations",
        Dialect::Sqlite,
        Layout::Native,
        2,
        2,
    ),
    (
        "sqlite/atuin/atuin-ai/migrations",
        Dialect::Sqlite,
        Layout::SqlxSimple,
        3,
        0,
    ),
];

#[test]
fn every_history_has_its_layout_and_count() {
    for &(dir, dialect, layout, count, downs) in HISTORIES {
        let found = found(dir, dialect);
        assert_eq!(found.layout, layout, "{dir}: layout");
        assert_eq!(found.migrations.len(), count, "{dir}: migrations");
        let with_down = found.migrations.iter().filter(|m| m.down.is_some()).count();
        assert_eq!(with_down, downs, "{dir}: migrations with a down script");
        let ordered = found
            .migrations
            .windows(2)
            .all(|w| w[0].version < w[1].version);
        assert!(
            ordered,
            "{dir}: migrations are not in strictly ascending version order"
        );
        for m in &found.migrations {
            assert_eq!(m.checksum, checksum(&m.up.sql), "{dir}: {}", m.id);
        }
    }
}

#[test]
fn lemmy_starts_with_diesel_setup_and_orders_dates_across_the_suffix_change() {
    let lemmy = found("postgres/lemmy", Dialect::Postgres);
    let ids = ids(&lemmy);
    assert_eq!(ids[0], "00000000000000_diesel_initial_setup");
    assert_eq!(ids[1], "2019-02-26-002946_create_user");
    assert_eq!(
        ids[341],
        "2026-07-27-143313-0000_rename_resolve_reason_to_conclusion"
    );
    // The date and time (the first 14 digits) never go backwards, whether or not the
    // version carries Diesel's newer `-0000` suffix.
    let stamps: Vec<String> = lemmy
        .migrations
        .iter()
        .map(|m| {
            m.version
                .as_str()
                .chars()
                .filter(char::is_ascii_digit)
                .take(14)
                .collect()
        })
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "lemmy dates out of order"
    );
    // Diesel's `-0000` suffix starts at 2025-09-19; those 35 versions are the tail.
    let suffixed = |id: &&str| id.split('_').next().unwrap().ends_with("-0000");
    let first_suffixed = ids.iter().position(suffixed).unwrap();
    assert_eq!(
        ids[first_suffixed],
        "2025-09-19-132648-0000_theme-instance-default"
    );
    assert_eq!(ids.len() - first_suffixed, 35);
    assert!(ids[first_suffixed..].iter().all(suffixed));
    assert!(
        lemmy
            .migrations
            .iter()
            .all(|m| m.down.as_ref().is_some_and(|d| !d.sql.is_empty()))
    );
    assert!(lemmy.ignored.is_empty(), "{:?}", lemmy.ignored);
}

#[test]
fn kratos_mysql_takes_the_mysql_file_over_the_generic_one() {
    let mysql = found("mysql/kratos/sql", Dialect::MySql);
    let meta = by_id(&mysql, "20220420102701000000");
    assert_eq!(
        file_name(&meta.up.path),
        "20220420102701000000_identity_metadata.mysql.up.sql"
    );
    assert!(meta.up.sql.contains("JSON") && !meta.up.sql.contains("jsonb"));
    let generic = "20220420102701000000_identity_metadata.up.sql";
    assert!(
        mysql
            .ignored
            .iter()
            .any(|i| file_name(&i.path) == generic && i.reason.contains("replaced for mysql"))
    );
    // 43 versions have both a generic and a mysql file, each in both directions.
    assert_eq!(mysql.ignored.len(), 82);

    let pg = found("postgres/kratos/sql", Dialect::Postgres);
    let meta = by_id(&pg, "20220420102701000000");
    assert_eq!(
        file_name(&meta.up.path),
        generic,
        "postgres uses the generic jsonb file"
    );
    assert!(meta.up.sql.contains("jsonb"));
}

#[test]
fn kratos_no_transaction_scripts_come_from_autocommit_files() {
    let pg = found("postgres/kratos/sql", Dialect::Postgres);
    let no_tx: Vec<&Migration> = pg
        .migrations
        .iter()
        .filter(|m| m.up.directives.no_transaction)
        .collect();
    assert_eq!(no_tx.len(), 10);
    assert!(
        no_tx
            .iter()
            .all(|m| file_name(&m.up.path).contains(".autocommit."))
    );
    let idx = by_id(&pg, "20260616000000000000");
    assert!(file_name(&idx.up.path).ends_with(".postgres.autocommit.up.sql"));
    assert!(idx.up.sql.to_uppercase().contains("CONCURRENTLY"));
    assert!(idx.down.as_ref().unwrap().directives.no_transaction);
    // The sqlite/mysql files of the same versions replace the generic autocommit ones.
    assert_eq!(
        found("mysql/kratos/sql", Dialect::MySql)
            .migrations
            .iter()
            .filter(|m| m.up.directives.no_transaction)
            .count(),
        2
    );
    assert_eq!(
        found("sqlite/kratos/sql", Dialect::Sqlite)
            .migrations
            .iter()
            .filter(|m| m.up.directives.no_transaction)
            .count(),
        8
    );
}

#[test]
fn kratos_versions_are_in_numeric_order_and_other_dialects_are_ignored() {
    for (dir, dialect, other) in [
        ("postgres/kratos/sql", Dialect::Postgres, ".mysql."),
        ("mysql/kratos/sql", Dialect::MySql, ".postgres."),
        ("sqlite/kratos/sql", Dialect::Sqlite, ".postgres."),
    ] {
        let found = found(dir, dialect);
        let numbers: Vec<u128> = found
            .migrations
            .iter()
            .map(|m| m.id.parse().unwrap())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{dir}: not in numeric order"
        );
        assert_eq!(found.migrations[0].id, "20150100000001000000");
        assert!(found.migrations.iter().all(|m| m.id.len() == 20));
        assert!(
            found
                .migrations
                .iter()
                .all(|m| !file_name(&m.up.path).contains(other))
        );
    }
    // The sqlite tree holds only sqlite3/sqlite and generic files: 14 versions have both
    // kinds, in both directions, and `.sqlite.` counts as sqlite3.
    let sqlite = found("sqlite/kratos/sql", Dialect::Sqlite);
    assert_eq!(sqlite.ignored.len(), 28);
    assert!(
        sqlite
            .ignored
            .iter()
            .all(|i| i.reason.starts_with("replaced for sqlite3"))
    );
    let picked_sqlite = sqlite
        .migrations
        .iter()
        .filter(|m| file_name(&m.up.path).contains(".sqlite."))
        .count();
    assert_eq!(picked_sqlite, 10, "`.sqlite.` files count as sqlite3");
}

#[test]
fn vaultwarden_down_scripts_include_empty_no_ops() {
    for (dir, dialect, empty) in [
        ("postgres/vaultwarden", Dialect::Postgres, 24),
        ("mysql/vaultwarden", Dialect::MySql, 28),
        ("sqlite/vaultwarden", Dialect::Sqlite, 29),
    ] {
        let found = found(dir, dialect);
        let empty_downs = found
            .migrations
            .iter()
            .filter(|m| m.down.as_ref().is_some_and(|d| d.sql.is_empty()))
            .count();
        assert_eq!(empty_downs, empty, "{dir}");
    }
    let pg = found("postgres/vaultwarden", Dialect::Postgres);
    assert_eq!(pg.migrations[0].id, "2019-09-12-100000_create_tables");
    assert!(ids(&pg).contains(&"2021-03-15-163412_rename_send_key"));
}

#[test]
fn memos_orders_version_folders_numerically_and_ignores_latest() {
    let sqlite = found("sqlite/memos", Dialect::Sqlite);
    let ids = ids(&sqlite);
    assert_eq!(ids[0], "0.2/00__user_role");
    let nine = ids.iter().position(|id| *id == "0.9/00__tag").unwrap();
    let ten = ids
        .iter()
        .position(|id| *id == "0.10/00__activity")
        .unwrap();
    assert_eq!(ten, nine + 1, "0.9 comes right before 0.10");
    assert_eq!(ids.last(), Some(&"0.31/02__reaction_memo_id"));
    for (dir, dialect, first) in [
        (
            "postgres/memos",
            Dialect::Postgres,
            "0.19/00__add_resource_name",
        ),
        ("mysql/memos", Dialect::MySql, "0.17/00__inbox"),
        ("sqlite/memos", Dialect::Sqlite, "0.2/00__user_role"),
    ] {
        let found = found(dir, dialect);
        assert_eq!(found.migrations[0].id, first, "{dir}");
        assert_eq!(found.ignored.len(), 1, "{dir}: {:?}", found.ignored);
        assert_eq!(file_name(&found.ignored[0].path), "LATEST.sql");
        assert!(found.ignored[0].reason.contains("snapshot"));
    }
    let sqlite_026: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| id.starts_with("0.26/"))
        .collect();
    assert_eq!(sqlite_026.len(), 5, "sqlite 0.26 has 5 steps");
}

#[test]
fn documenso_is_prisma_with_folder_ids() {
    let documenso = found("postgres/documenso", Dialect::Postgres);
    assert_eq!(
        documenso.migrations[0].id,
        "20230404095503_initial_migration"
    );
    assert_eq!(documenso.migrations[0].name, "initial_migration");
    let enum_file = by_id(&documenso, "20250807011918_add_organisation_sso_portal");
    assert!(file_name(&enum_file.up.path) == "migration.sql" && enum_file.down.is_none());
}

#[test]
fn atuin_kv_and_scripts_are_reversible_native() {
    let scripts = found("sqlite/atuin/atuin-scripts/migrations", Dialect::Sqlite);
    assert_eq!(ids(&scripts), ["20250326160051", "20250402170430"]);
    let first = &scripts.migrations[0];
    assert_eq!(first.name, "create_scripts");
    assert_eq!(
        file_name(&first.down.as_ref().unwrap().path),
        "20250326160051_create_scripts.down.sql"
    );
}

#[test]
fn vmangos_reuses_a_version_so_the_whole_directory_is_refused() {
    let dir = corpora().join("mysql/vmangos");
    assert_eq!(detect(&dir).unwrap(), Layout::SqlxSimple);
    let err = discover(&dir, Dialect::MySql).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateVersion { version, .. } if version == "20240107103630"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("20240107103630_logon.sql") && msg.contains("20240107103630_world.sql"),
        "{msg}"
    );
}

#[test]
fn vmangos_without_the_clash_reads_745_migrations_with_crlf_checksums() {
    let source = corpora().join("mysql/vmangos");
    let copy = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if file_name(&path) != "20240107103630_logon.sql" {
            fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let found = discover(copy.path(), Dialect::MySql).unwrap();
    assert_eq!(found.layout, Layout::SqlxSimple);
    assert_eq!(found.migrations.len(), 745);
    let crlf: Vec<&Migration> = found
        .migrations
        .iter()
        .filter(|m| m.up.sql.contains("\r\n"))
        .collect();
    assert_eq!(crlf.len(), 48, "SOURCES counts 48 CRLF files");
    for m in crlf {
        assert_eq!(
            m.checksum,
            checksum(&m.up.sql.replace("\r\n", "\n")),
            "{}",
            m.id
        );
    }
}

#[test]
fn non_migration_folders_are_refused_naming_the_stray_file() {
    for (dir, stray) in [
        ("postgres/lemmy-replaceable-schema", "triggers.sql"),
        ("mysql/vmangos-base-schema", "characters.sql"),
    ] {
        let err = discover(&corpora().join(dir), Dialect::Postgres).unwrap_err();
        assert!(matches!(err, Error::UnexpectedFile { .. }), "{dir}: {err}");
        assert!(err.to_string().contains(stray), "{dir}: {err}");
    }
}

/// Every `.sql` file under `dir`, recursively.
fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// The table of foreign markers finds none in the 5,000 real files of the corpora (none
/// of which is a goose, morph or Liquibase history), so it refuses nothing that their own
/// tools run as plain SQL: what it matches is the tools' syntax, not ordinary comments.
/// The corpora hold no goose history; goose is tested in `formats`.
#[test]
fn the_corpora_carry_no_foreign_marker() {
    let mut files = Vec::new();
    sql_files(&corpora(), &mut files);
    assert!(files.len() >= 5_000, "only {} SQL files", files.len());
    let mut found = Vec::new();
    let mut lines = 0;
    for path in &files {
        let Ok(text) = fs::read_to_string(path) else {
            continue; // the one non-UTF-8 file is checked by split_corpora
        };
        for (index, line) in text.lines().enumerate() {
            lines += 1;
            if let Some(marker) = find_marker(line, index == 0, None) {
                found.push(format!(
                    "{}:{}: {} ({})",
                    path.display(),
                    index + 1,
                    line,
                    marker.tool
                ));
            }
        }
    }
    // Measured: 498,611 lines; allow 10% for changes of the corpora.
    assert!(lines > 450_000, "only {lines} lines read");
    assert!(found.is_empty(), "markers found: {found:#?}");
}
