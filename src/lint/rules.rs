//! The rule catalogue: every rule's id, what it guards against, its default severity, and
//! the safe way to do what it flags. PostgreSQL rules keep squawk's ids (its linter finds
//! them); the MariaDB/MySQL and SQLite rules are cutover's own, and share an id with
//! squawk's where they mean the same thing (`renaming-column` is a rename everywhere).

use serde::Serialize;

/// How bad a finding is. The exit code follows the worst one (`[lint] fail_on`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice: style and robustness (squawk's type preferences, `IF NOT EXISTS`).
    Info,
    /// Worth a look: may lock, or only a risk under conditions the linter cannot see.
    Warning,
    /// Blocks or breaks production as written.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What a flagged statement does to a live system. Decides how context weighs it: a table
/// created earlier in the same run, or still empty, costs nothing to lock, rewrite or scan,
/// and a table the running application has never seen cannot break it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Takes a lock that blocks reads or writes for as long as the work takes.
    Lock,
    /// Rewrites (copies) the table under a lock.
    Rewrite,
    /// Reads the whole table under a lock.
    Scan,
    /// Breaks the application version still running (renames, drops, new requirements).
    Break,
    /// Leaves the database in a state the next run cannot recover from by itself, or does
    /// not do what it says (partial migrations, no-op pragmas, unsupported syntax).
    Hazard,
    /// Style and robustness advice, independent of the table.
    Style,
}

impl Effect {
    /// Whether the table's size decides the cost.
    pub fn depends_on_size(self) -> bool {
        matches!(self, Effect::Lock | Effect::Rewrite | Effect::Scan)
    }
}

/// One rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    /// `postgres`, `mysql`, `sqlite`, or `any`.
    pub engine: &'static str,
    pub effect: Effect,
    pub severity: Severity,
    /// The safe way to do what the rule flags.
    pub fix: &'static str,
}

const fn r(
    id: &'static str,
    engine: &'static str,
    effect: Effect,
    severity: Severity,
    fix: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        engine,
        effect,
        severity,
        fix,
    }
}

use Effect::*;
use Severity::{Error as E, Info as I, Warning as W};

/// Every rule cutover knows. squawk rules not listed here (opt-in ones enabled through
/// `[lint] enable`) are reported as warnings with squawk's own help.
pub const RULES: &[RuleInfo] = &[
    // --- PostgreSQL: squawk's default rules, classified.
    r(
        "require-concurrent-index-creation",
        "postgres",
        Lock,
        E,
        "CREATE INDEX CONCURRENTLY in a migration marked `-- cutover:no-transaction`",
    ),
    r(
        "require-concurrent-index-deletion",
        "postgres",
        Lock,
        E,
        "DROP INDEX CONCURRENTLY in a migration marked `-- cutover:no-transaction`",
    ),
    r(
        "require-concurrent-reindex",
        "postgres",
        Lock,
        E,
        "REINDEX … CONCURRENTLY in a migration marked `-- cutover:no-transaction`",
    ),
    r(
        "require-concurrent-partition-detach",
        "postgres",
        Lock,
        E,
        "ALTER TABLE … DETACH PARTITION … CONCURRENTLY outside a transaction",
    ),
    r(
        "ban-concurrent-index-creation-in-transaction",
        "postgres",
        Hazard,
        E,
        "mark the migration `-- cutover:no-transaction` and keep the CONCURRENTLY statement alone in it",
    ),
    r(
        "cannot-run-in-transaction",
        "postgres",
        Hazard,
        E,
        "mark the migration `-- cutover:no-transaction` (cutover then runs it statement by statement, journaled)",
    ),
    r(
        "constraint-missing-not-valid",
        "postgres",
        Scan,
        E,
        "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    ),
    r(
        "adding-foreign-key-constraint",
        "postgres",
        Scan,
        E,
        "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later migration",
    ),
    r(
        "disallowed-unique-constraint",
        "postgres",
        Lock,
        E,
        "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX",
    ),
    r(
        "adding-serial-primary-key-field",
        "postgres",
        Lock,
        E,
        "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX",
    ),
    r(
        "adding-field-with-default",
        "postgres",
        Rewrite,
        E,
        "add the column without the volatile default, set the default, then backfill in batches",
    ),
    r(
        "changing-column-type",
        "any",
        Rewrite,
        E,
        "expand and contract: add a column of the new type, write both, backfill in batches, switch reads, drop the old column",
    ),
    r(
        "adding-not-nullable-field",
        "any",
        Scan,
        E,
        "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ skips the scan)",
    ),
    r(
        "adding-required-field",
        "any",
        Break,
        E,
        "add the column nullable or with a default; make it required once every writer sets it",
    ),
    r(
        "renaming-column",
        "any",
        Break,
        E,
        "expand and contract: add the new column, write both, backfill, switch reads, drop the old one later",
    ),
    r(
        "renaming-table",
        "any",
        Break,
        E,
        "expand and contract: create the new table (or a view with the old name), move readers and writers, drop the old name later",
    ),
    r(
        "renaming-object",
        "postgres",
        Break,
        W,
        "keep the old name until no running code uses it",
    ),
    r(
        "ban-drop-column",
        "any",
        Break,
        E,
        "stop reading and writing the column in a release first, then drop it in a later migration",
    ),
    r(
        "ban-drop-table",
        "any",
        Break,
        E,
        "stop using the table in a release first, then drop it in a later migration",
    ),
    r(
        "ban-drop-not-null",
        "postgres",
        Break,
        W,
        "make sure every reader copes with NULL before dropping NOT NULL",
    ),
    r(
        "ban-drop-database",
        "postgres",
        Break,
        E,
        "never drop a database from a migration",
    ),
    r(
        "ban-truncate-cascade",
        "postgres",
        Break,
        E,
        "TRUNCATE the tables by name, without CASCADE",
    ),
    r(
        "ban-drop-view",
        "postgres",
        Break,
        W,
        "stop using the view in a release first",
    ),
    r(
        "ban-drop-function",
        "postgres",
        Break,
        W,
        "stop calling the function in a release first",
    ),
    r(
        "ban-drop-type",
        "postgres",
        Break,
        W,
        "stop using the type in a release first",
    ),
    r(
        "ban-drop-default",
        "postgres",
        Break,
        W,
        "make sure every writer sets the column before dropping its default",
    ),
    r(
        "ban-drop-constraint",
        "postgres",
        Break,
        W,
        "make sure nothing relies on the constraint (ON CONFLICT targets, data guarantees)",
    ),
    r(
        "ban-drop-sequence",
        "postgres",
        Break,
        W,
        "stop using the sequence in a release first",
    ),
    r(
        "ban-drop-schema",
        "postgres",
        Break,
        E,
        "stop using the schema in a release first",
    ),
    r(
        "ban-drop-extension",
        "postgres",
        Break,
        W,
        "stop using the extension in a release first",
    ),
    r(
        "ban-drop-trigger",
        "postgres",
        Break,
        W,
        "make sure nothing relies on the trigger",
    ),
    r(
        "ban-drop-generated-expression",
        "postgres",
        Break,
        W,
        "make sure every writer sets the column first",
    ),
    r(
        "ban-set-schema",
        "postgres",
        Break,
        W,
        "keep the old schema until no running code uses it",
    ),
    r(
        "ban-alter-identity",
        "postgres",
        Break,
        W,
        "check every writer against the new identity rule",
    ),
    r(
        "ban-alter-domain-with-add-constraint",
        "postgres",
        Scan,
        E,
        "add the constraint to the columns as NOT VALID CHECK constraints instead",
    ),
    r(
        "ban-create-domain-with-constraint",
        "postgres",
        Style,
        I,
        "use CHECK constraints on the columns instead of a domain with constraints",
    ),
    r(
        "require-lock-timeout",
        "postgres",
        Lock,
        W,
        "SET lock_timeout (e.g. '500ms') first, or in the environment's init_sql, so the statement gives up instead of queueing every query behind it",
    ),
    r(
        "require-statement-timeout",
        "postgres",
        Lock,
        W,
        "SET statement_timeout first, or set the environment's statement_timeout",
    ),
    r(
        "transaction-nesting",
        "postgres",
        Hazard,
        W,
        "leave out BEGIN/COMMIT: cutover runs each migration in its own transaction",
    ),
    r(
        "ban-uncommitted-transaction",
        "postgres",
        Hazard,
        E,
        "COMMIT what the script BEGINs",
    ),
    r(
        "prefer-repack",
        "postgres",
        Rewrite,
        E,
        "pg_repack (or pg_squeeze) rebuilds the table without holding ACCESS EXCLUSIVE for the whole copy",
    ),
    r(
        "prefer-robust-stmts",
        "postgres",
        Style,
        I,
        "IF NOT EXISTS / IF EXISTS, so a migration run outside a transaction can be re-run",
    ),
    r("prefer-bigint-over-int", "postgres", Style, I, "bigint"),
    r(
        "prefer-bigint-over-smallint",
        "postgres",
        Style,
        I,
        "bigint",
    ),
    r(
        "prefer-identity",
        "postgres",
        Style,
        I,
        "GENERATED … AS IDENTITY",
    ),
    r(
        "prefer-text-field",
        "postgres",
        Style,
        I,
        "text with a CHECK on its length",
    ),
    r("prefer-timestamp-tz", "postgres", Style, I, "timestamptz"),
    r("ban-char-field", "postgres", Style, I, "text or varchar"),
    r(
        "identifier-too-long",
        "postgres",
        Hazard,
        W,
        "names of at most 63 bytes",
    ),
    r(
        "require-enum-value-ordering",
        "postgres",
        Style,
        I,
        "ADD VALUE … BEFORE/AFTER",
    ),
    r(
        "ban-duplicate-column-assignments",
        "postgres",
        Hazard,
        E,
        "assign each column once",
    ),
    r(
        "unused-ignore",
        "postgres",
        Style,
        I,
        "remove the squawk-ignore comment",
    ),
    // --- MariaDB/MySQL: cutover's own.
    r(
        "mysql-table-copy",
        "mysql",
        Rewrite,
        E,
        "add ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT) so the server refuses instead of copying, and do a change that needs a copy with an online schema change tool (gh-ost, pt-online-schema-change)",
    ),
    r(
        "mysql-several-ddl",
        "mysql",
        Hazard,
        W,
        "one DDL statement per migration (several changes to one table fit in one ALTER TABLE): each DDL statement commits on its own, so a failure leaves the earlier ones applied",
    ),
    r(
        "mysql-enum-copy",
        "mysql",
        Rewrite,
        E,
        "only append members at the end of the ENUM/SET list (done in place, instantly), never reorder, remove or insert them",
    ),
    r(
        "mysql-foreign-key-copy",
        "mysql",
        Rewrite,
        E,
        "SET foreign_key_checks = 0 before the ALTER TABLE … ADD FOREIGN KEY (done in place, without the copy or the check), and check the rows yourself first",
    ),
    // --- SQLite: cutover's own.
    r(
        "sqlite-rebuild-foreign-keys",
        "sqlite",
        Hazard,
        E,
        "mark the migration `-- cutover:no-transaction`, PRAGMA foreign_keys = OFF first, BEGIN … rebuild … PRAGMA foreign_key_check … COMMIT, then PRAGMA foreign_keys = ON (sqlite.org/lang_altertable.html, the 12 steps)",
    ),
    r(
        "sqlite-pragma-in-transaction",
        "sqlite",
        Hazard,
        E,
        "PRAGMA foreign_keys outside any transaction: mark the migration `-- cutover:no-transaction` and put it before BEGIN",
    ),
    r(
        "sqlite-unsupported-alter",
        "sqlite",
        Hazard,
        E,
        "rebuild the table (the 12 steps of sqlite.org/lang_altertable.html), or use a form this SQLite supports",
    ),
    // --- Every engine: the suppressions themselves.
    r(
        "allow-without-reason",
        "any",
        Hazard,
        E,
        "say why: `-- cutover:allow RULE the reason`",
    ),
    r(
        "allow-unknown-rule",
        "any",
        Hazard,
        E,
        "name a rule `cutover lint --rules` lists",
    ),
    r(
        "allow-unused",
        "any",
        Style,
        I,
        "remove the `-- cutover:allow` that matches no finding",
    ),
    r(
        "unparsed-statement",
        "any",
        Style,
        I,
        "nothing to do unless the statement changes a table: the SQL parser could not read it, so no rule looked at it",
    ),
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}

/// A squawk rule cutover does not classify (an opt-in one): a warning with squawk's help.
pub(crate) fn squawk_fallback(id: &'static str) -> RuleInfo {
    r(id, "postgres", Break, W, "see squawkhq.com/docs/rules")
}

/// Whether `id` names a rule (cutover's, or any of squawk's).
pub fn known(id: &str) -> bool {
    rule(id).is_some() || id.parse::<squawk_linter::Rule>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_is_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(
                r.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.id
            );
            assert!(!r.fix.is_empty());
        }
    }

    #[test]
    fn postgres_rules_are_squawk_rules() {
        // `unused-ignore` is squawk's, reported under that name but not parsed back;
        // `cannot-run-in-transaction` is cutover's own.
        let own = ["unused-ignore", "cannot-run-in-transaction"];
        for r in RULES
            .iter()
            .filter(|r| r.engine == "postgres" && !own.contains(&r.id))
        {
            assert!(r.id.parse::<squawk_linter::Rule>().is_ok(), "{}", r.id);
        }
    }
}
