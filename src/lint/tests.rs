//! Unit tests of the rules: each fires on a minimal example and not on its safe form, and
//! context (a table created earlier in the run, a migration's transaction) weighs findings.

use std::path::Path;

use super::*;
use crate::sql::Dialect;

/// One script, as a migration (`in_transaction`: cutover's default) or a plain file.
fn unit(dialect: Dialect, sql: &str, in_transaction: bool) -> Unit {
    let mut u = Unit::plain(Path::new("m.sql"), sql.into(), dialect).unwrap();
    u.in_transaction = in_transaction;
    u.migration = Some("1".into());
    u
}

fn lint_runs(dialect: Dialect, runs: Vec<Vec<Unit>>, config: &LintConfig) -> Report {
    let runs: Vec<Run> = runs.into_iter().map(|units| Run { units }).collect();
    lint(&runs, &Target::offline(dialect, "test"), config, None)
}

/// A migration run in a transaction (cutover's default).
fn migration(dialect: Dialect, sql: &str) -> Report {
    lint_runs(
        dialect,
        vec![vec![unit(dialect, sql, true)]],
        &LintConfig::default(),
    )
}

/// A migration marked `-- cutover:no-transaction`.
fn no_transaction(dialect: Dialect, sql: &str) -> Report {
    lint_runs(
        dialect,
        vec![vec![unit(dialect, sql, false)]],
        &LintConfig::default(),
    )
}

fn rules(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[track_caller]
fn fires(r: &Report, rule: &str) {
    assert!(
        rules(r).contains(&rule),
        "{rule} expected in {:#?}",
        r.findings
    );
}

#[track_caller]
fn quiet(r: &Report, rule: &str) {
    assert!(
        !rules(r).contains(&rule),
        "{rule} not expected in {:#?}",
        r.findings
    );
}

const PG: Dialect = Dialect::Postgres;
const MY: Dialect = Dialect::MySql;
const LITE: Dialect = Dialect::Sqlite;

// --- PostgreSQL (squawk's rules, with cutover's context)

#[test]
fn pg_index_on_an_existing_table_needs_concurrently() {
    let r = migration(PG, "CREATE INDEX i ON orders (customer_id);");
    fires(&r, "require-concurrent-index-creation");
    let f = &r.findings[0];
    assert_eq!((f.line, f.severity), (1, Severity::Error));
    assert!(f.fix.contains("CONCURRENTLY"), "{}", f.fix);
    let safe = no_transaction(
        PG,
        "SET lock_timeout = '1s';\nSET statement_timeout = '5min';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON orders (customer_id);",
    );
    assert!(safe.findings.is_empty(), "{:#?}", safe.findings);
}

#[test]
fn pg_concurrently_inside_cutovers_transaction_is_caught() {
    // squawk's CLI does not know cutover wraps the migration in a transaction.
    let r = migration(PG, "CREATE INDEX CONCURRENTLY i ON orders (customer_id);");
    fires(&r, "ban-concurrent-index-creation-in-transaction");
    quiet(
        &no_transaction(PG, "CREATE INDEX CONCURRENTLY i ON orders (customer_id);"),
        "ban-concurrent-index-creation-in-transaction",
    );
}

#[test]
fn pg_table_created_earlier_in_the_run_is_not_a_big_table() {
    let create = unit(
        PG,
        "CREATE TABLE orders (id bigint PRIMARY KEY, note text);",
        true,
    );
    let index = unit(
        PG,
        "CREATE INDEX i ON orders (note);\nALTER TABLE orders RENAME COLUMN note TO memo;",
        true,
    );
    let r = lint_runs(
        PG,
        vec![vec![create.clone(), index.clone()]],
        &LintConfig::default(),
    );
    quiet(&r, "require-concurrent-index-creation");
    quiet(&r, "renaming-column");
    assert!(
        r.dropped
            .iter()
            .any(|d| d.rule == "require-concurrent-index-creation"
                && d.reason.contains("created earlier in this run")),
        "{:#?}",
        r.dropped
    );
    // The same scripts as two runs (deployed apart): the table may have filled.
    let r = lint_runs(PG, vec![vec![create], vec![index]], &LintConfig::default());
    fires(&r, "require-concurrent-index-creation");
    fires(&r, "renaming-column");
}

#[test]
fn pg_robust_statements_matter_only_outside_a_transaction() {
    let sql = "CREATE TABLE t (id bigint PRIMARY KEY);";
    quiet(&migration(PG, sql), "prefer-robust-stmts");
    let r = no_transaction(PG, sql);
    fires(&r, "prefer-robust-stmts");
    assert_eq!(r.findings[0].severity, Severity::Info);
    let dropped = migration(PG, sql).dropped;
    assert!(
        dropped.iter().any(|d| d.rule == "prefer-robust-stmts"),
        "{dropped:#?}"
    );
}

#[test]
fn pg_type_change_and_drops_break_the_running_application() {
    let r = migration(
        PG,
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);\nALTER TABLE orders DROP COLUMN note;",
    );
    fires(&r, "changing-column-type");
    fires(&r, "ban-drop-column");
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.rule == "ban-drop-column")
            .unwrap()
            .line,
        2
    );
}

#[test]
fn pg_not_valid_constraints_are_the_safe_form() {
    fires(
        &migration(
            PG,
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
        ),
        "adding-foreign-key-constraint",
    );
    let safe = migration(
        PG,
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
    );
    quiet(&safe, "adding-foreign-key-constraint");
    quiet(&safe, "constraint-missing-not-valid");
}

// --- MariaDB/MySQL

const ORDERS: &str = "CREATE TABLE orders (id int PRIMARY KEY, total int, status enum('new','paid'), note varchar(20), customer_id int);";

/// `sql` run after an earlier migration (another run) created `orders`.
fn mysql_after_orders(sql: &str) -> Report {
    lint_runs(
        MY,
        vec![vec![unit(MY, ORDERS, true)], vec![unit(MY, sql, true)]],
        &LintConfig::default(),
    )
}

#[test]
fn mysql_type_change_copies_the_table_unless_guarded() {
    let r = mysql_after_orders("ALTER TABLE orders MODIFY total bigint");
    fires(&r, "mysql-table-copy");
    fires(&r, "changing-column-type");
    let guarded =
        mysql_after_orders("ALTER TABLE orders MODIFY total bigint, ALGORITHM=INPLACE, LOCK=NONE");
    quiet(&guarded, "mysql-table-copy");
    // The running application still sees a new type, guarded or not.
    fires(&guarded, "changing-column-type");
    let same = mysql_after_orders("ALTER TABLE orders MODIFY total int(11)");
    assert!(same.findings.is_empty(), "{:#?}", same.findings);
    let wider = mysql_after_orders("ALTER TABLE orders MODIFY note varchar(40)");
    assert!(wider.findings.is_empty(), "{:#?}", wider.findings);
}

#[test]
fn mysql_unknown_previous_type_is_only_a_warning() {
    let r = migration(MY, "ALTER TABLE orders MODIFY total bigint");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "mysql-table-copy")
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("may copy"), "{}", f.message);
}

#[test]
fn mysql_dropping_the_primary_key_copies() {
    fires(
        &mysql_after_orders("ALTER TABLE orders DROP PRIMARY KEY"),
        "mysql-table-copy",
    );
    quiet(
        &mysql_after_orders(
            "ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (id, customer_id)",
        ),
        "mysql-table-copy",
    );
}

#[test]
fn mysql_several_ddl_statements_leave_partial_state() {
    let r = migration(
        MY,
        "ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN b int;",
    );
    fires(&r, "mysql-several-ddl");
    assert_eq!(r.findings[0].line, 2);
    assert_eq!(r.findings[0].severity, Severity::Warning);
    quiet(
        &migration(
            MY,
            "ALTER TABLE orders ADD COLUMN a int, ADD COLUMN b int;\nUPDATE orders SET a = 1;",
        ),
        "mysql-several-ddl",
    );
    // Re-runnable forms and routine scaffolding leave nothing a second run trips on.
    quiet(
        &migration(
            MY,
            "DROP PROCEDURE IF EXISTS m;\nCREATE PROCEDURE m() SELECT 1;\nCALL m();\nDROP PROCEDURE m;\nCREATE TABLE IF NOT EXISTS a (id int);\nALTER TABLE orders ADD COLUMN IF NOT EXISTS c int;",
        ),
        "mysql-several-ddl",
    );
}

#[test]
fn mysql_enum_changes_copy_unless_appending() {
    fires(
        &mysql_after_orders("ALTER TABLE orders MODIFY status enum('paid','new')"),
        "mysql-enum-copy",
    );
    let r = mysql_after_orders("ALTER TABLE orders MODIFY status enum('new','paid','shipped')");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn mysql_foreign_key_on_an_existing_table_copies_it() {
    let add =
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id)";
    fires(&mysql_after_orders(add), "mysql-foreign-key-copy");
    quiet(
        &mysql_after_orders(&format!("SET foreign_key_checks = 0;\n{add};")),
        "mysql-foreign-key-copy",
    );
    // On a table created earlier in the same run it costs nothing.
    let r = migration(MY, &format!("{ORDERS}\n{add};"));
    quiet(&r, "mysql-foreign-key-copy");
    assert!(r.dropped.iter().any(|d| d.rule == "mysql-foreign-key-copy"));
}

#[test]
fn mysql_renames_and_drops_break_the_running_application() {
    fires(
        &mysql_after_orders("ALTER TABLE orders RENAME COLUMN note TO memo"),
        "renaming-column",
    );
    fires(
        &mysql_after_orders("ALTER TABLE orders CHANGE note memo varchar(20)"),
        "renaming-column",
    );
    fires(
        &mysql_after_orders("RENAME TABLE orders TO purchases"),
        "renaming-table",
    );
    fires(
        &mysql_after_orders("ALTER TABLE orders DROP COLUMN note"),
        "ban-drop-column",
    );
    fires(&mysql_after_orders("DROP TABLE orders"), "ban-drop-table");
    let new = migration(
        MY,
        &format!("{ORDERS}\nALTER TABLE orders RENAME COLUMN note TO memo;\nDROP TABLE orders;"),
    );
    quiet(&new, "renaming-column");
    quiet(&new, "ban-drop-table");
}

#[test]
fn mysql_not_null_without_a_default() {
    fires(
        &mysql_after_orders("ALTER TABLE orders ADD COLUMN region varchar(8) NOT NULL"),
        "adding-required-field",
    );
    quiet(
        &mysql_after_orders(
            "ALTER TABLE orders ADD COLUMN region varchar(8) NOT NULL DEFAULT 'eu'",
        ),
        "adding-required-field",
    );
    fires(
        &mysql_after_orders("ALTER TABLE orders MODIFY total int NOT NULL"),
        "adding-not-nullable-field",
    );
    quiet(
        &mysql_after_orders("ALTER TABLE orders MODIFY total int NOT NULL DEFAULT 0"),
        "adding-not-nullable-field",
    );
}

// --- SQLite

const PARENT_CHILD: &str = "CREATE TABLE ciphers (uuid TEXT PRIMARY KEY, favorite INTEGER);\nCREATE TABLE favorites (cipher_uuid TEXT REFERENCES ciphers (uuid) ON DELETE CASCADE);";
const REBUILD: &str = "CREATE TABLE new_ciphers (uuid TEXT PRIMARY KEY);\nINSERT INTO new_ciphers (uuid) SELECT uuid FROM ciphers;\nDROP TABLE ciphers;\nALTER TABLE new_ciphers RENAME TO ciphers;";

fn sqlite_after_schema(sql: &str, in_transaction: bool) -> Report {
    lint_runs(
        LITE,
        vec![
            vec![unit(LITE, PARENT_CHILD, true)],
            vec![unit(LITE, sql, in_transaction)],
        ],
        &LintConfig::default(),
    )
}

#[test]
fn sqlite_rebuild_with_foreign_keys_on_deletes_children() {
    let r = sqlite_after_schema(REBUILD, true);
    fires(&r, "sqlite-rebuild-foreign-keys");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "sqlite-rebuild-foreign-keys")
        .unwrap();
    assert!(f.message.contains("`favorites`"), "{}", f.message);
    // A rebuild is neither a drop nor a rename for the running application.
    quiet(&r, "ban-drop-table");
    quiet(&r, "renaming-table");
    let safe = format!(
        "PRAGMA foreign_keys = OFF;\nBEGIN;\n{REBUILD}\nPRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = ON;"
    );
    let r = sqlite_after_schema(&safe, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sqlite_init_sql_that_turns_foreign_keys_off_makes_the_rebuild_safe() {
    let runs = vec![
        Run {
            units: vec![unit(LITE, PARENT_CHILD, true)],
        },
        Run {
            units: vec![unit(LITE, REBUILD, true)],
        },
    ];
    let mut target = Target::offline(LITE, "test");
    target.init_sql = vec!["PRAGMA foreign_keys = OFF".into()];
    let r = lint(&runs, &target, &LintConfig::default(), None);
    quiet(&r, "sqlite-rebuild-foreign-keys");
}

#[test]
fn sqlite_renaming_the_original_away_moves_the_references() {
    let sql = "ALTER TABLE ciphers RENAME TO _ciphers_old;\nCREATE TABLE ciphers (uuid TEXT PRIMARY KEY);\nINSERT INTO ciphers SELECT uuid FROM _ciphers_old;\nDROP TABLE _ciphers_old;";
    let r = sqlite_after_schema(sql, false);
    fires(&r, "sqlite-rebuild-foreign-keys");
    assert!(
        r.findings[0].message.contains("_ciphers_old"),
        "{}",
        r.findings[0].message
    );
    let legacy = format!("PRAGMA legacy_alter_table = ON;\nPRAGMA foreign_keys = OFF;\n{sql}");
    let r = sqlite_after_schema(&legacy, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sqlite_pragma_foreign_keys_in_a_transaction_does_nothing() {
    let r = migration(LITE, "PRAGMA foreign_keys = OFF;\nUPDATE t SET a = 1;");
    fires(&r, "sqlite-pragma-in-transaction");
    assert!(
        r.findings[0]
            .message
            .contains("cutover runs this migration in a transaction")
    );
    let r = no_transaction(LITE, "BEGIN;\nPRAGMA foreign_keys = OFF;\nCOMMIT;");
    fires(&r, "sqlite-pragma-in-transaction");
    quiet(
        &no_transaction(LITE, "PRAGMA foreign_keys = OFF;\nBEGIN;\nCOMMIT;"),
        "sqlite-pragma-in-transaction",
    );
}

#[test]
fn sqlite_alter_forms_it_does_not_have() {
    for sql in [
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
        "ALTER TABLE t ADD COLUMN a TEXT NOT NULL",
        "ALTER TABLE t ADD COLUMN a TEXT UNIQUE",
        "ALTER TABLE t ADD COLUMN a TEXT DEFAULT CURRENT_TIMESTAMP",
    ] {
        fires(&migration(LITE, sql), "sqlite-unsupported-alter");
    }
    for sql in [
        "ALTER TABLE t ADD COLUMN a TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE t ADD COLUMN a TEXT",
    ] {
        quiet(&migration(LITE, sql), "sqlite-unsupported-alter");
    }
    // DROP COLUMN needs 3.35: fine on cutover's bundled SQLite, refused on an older one.
    let drop = "ALTER TABLE t DROP COLUMN a";
    quiet(&migration(LITE, drop), "sqlite-unsupported-alter");
    let mut old = Target::offline(LITE, "test");
    old.version = Some((3, 31, 1));
    let r = lint(
        &[Run {
            units: vec![unit(LITE, drop, true)],
        }],
        &old,
        &LintConfig::default(),
        None,
    );
    fires(&r, "sqlite-unsupported-alter");
}

// --- Suppressions and configuration

#[test]
fn allow_covers_the_statement_below_with_its_reason() {
    let sql = "-- cutover:allow ban-drop-column nothing reads it since release 41\nALTER TABLE orders DROP COLUMN note;\nALTER TABLE orders DROP COLUMN memo;";
    let r = migration(PG, sql);
    assert_eq!(r.suppressed.len(), 1);
    assert_eq!(
        r.suppressed[0].reason.as_deref(),
        Some("nothing reads it since release 41")
    );
    let left: Vec<usize> = r
        .findings
        .iter()
        .filter(|f| f.rule == "ban-drop-column")
        .map(|f| f.line)
        .collect();
    assert_eq!(left, vec![3]);
}

#[test]
fn allow_without_reason_or_with_an_unknown_rule_is_a_finding() {
    let r = migration(
        PG,
        "-- cutover:allow ban-drop-column\nALTER TABLE orders DROP COLUMN note;",
    );
    fires(&r, "allow-without-reason");
    quiet(&r, "ban-drop-column");
    let r = migration(
        PG,
        "-- cutover:allow no-such-rule because\nALTER TABLE orders DROP COLUMN note;",
    );
    fires(&r, "allow-unknown-rule");
    fires(&r, "ban-drop-column");
    let r = migration(
        PG,
        "-- cutover:allow renaming-table just in case\nALTER TABLE orders DROP COLUMN note;",
    );
    fires(&r, "allow-unused");
}

#[test]
fn allow_file_covers_the_whole_script() {
    let sql = "-- cutover:allow-file ban-drop-column the columns were copied in release 40\nALTER TABLE a DROP COLUMN x;\n\nALTER TABLE b DROP COLUMN y;";
    let r = migration(PG, sql);
    quiet(&r, "ban-drop-column");
    assert_eq!(r.suppressed.len(), 2);
    let r = migration(
        MY,
        "-- cutover:allow-file mysql-several-ddl each statement is idempotent\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);",
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn config_disables_rules_and_changes_severities() {
    let spec = config::LintSpec {
        disable: vec!["ban-drop-column".into()],
        severity: [("changing-column-type".to_string(), Severity::Warning)].into(),
        ..Default::default()
    };
    let config = LintConfig::from_spec(&spec).unwrap();
    let sql =
        "ALTER TABLE orders DROP COLUMN note;\nALTER TABLE orders ALTER COLUMN total TYPE bigint;";
    let r = lint_runs(PG, vec![vec![unit(PG, sql, true)]], &config);
    quiet(&r, "ban-drop-column");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "changing-column-type")
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(!r.failed() || r.findings.iter().any(|f| f.severity == Severity::Error));
}
