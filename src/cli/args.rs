//! Command-line arguments (clap). Nothing here touches a database or a file.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  cutover init                                   # cutover.toml + migrations/ on SQLite
  cutover new create_students                    # migrations/<timestamp>_create_students.up.sql + .down.sql
  cutover migrate                                # apply everything pending
  cutover --url postgres://app@db/app status --check
  DATABASE_URL=mysql://root@127.0.0.1/app cutover migrate --dry-run
  cutover --env prod rollback --steps 1
  cutover diff                                   # drift: the target against its own migrations
  cutover validate --level comprehensive --report validate.html
  cutover lint --dialect postgres migrations/     # risky DDL: locks, rewrites, scans, breaking changes

Exit codes:
  0  success
  1  a check failed: `status --check` (pending, changed, missing, failed), `diff` (differences),
     `validate` (a failure, or a warning with --fail-on warn), `lint` (an error-severity finding,
     or a warning with --fail-on warning)
  2  bad input: arguments, configuration, migration files (nothing was changed)
  3  the database could not be reached, or failed outside a migration script
  4  a migration or seed script failed (the error names the file, line and statement)
  5  refused as unsafe: a failed, edited or missing migration, a missing down script, a change
     the policy must approve with no terminal to ask on and no --yes, a clone into a prod
     environment or one with clone_target = false
  6  timed out waiting for another run's lock
  7  a prerequisite is missing: a dump tool, a recent enough one, or disk space
  8  a backup, its verification or a restore failed
  9  a file could not be read or written (disk full, permissions): see the message
  10 a governed run (deploy, seed, rollback, resolve, baseline, restore, clone) stopped before changing
     anything: a failed check, hook or maintenance switch; a deploy or seed not approved
  11 deploy failed and was rolled back (the schema is proved back to its pre-deploy state)
  12 deploy failed and the rollback did not restore the pre-deploy schema
  13 another tool's history (Prisma, Flyway, golang-migrate, …) is in the target and cutover has
     none: `migrate` and `deploy` refuse; `cutover adopt` takes that history over
  130 interrupted by SIGINT/SIGTERM between two migrations (the one under way finished)";

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Safe database deployments: versioned SQL migrations on SQLite, PostgreSQL and MariaDB/MySQL",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Database URL (sqlite://file.db, postgres://…, mysql://…, mariadb://…); DATABASE_URL is read too
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Migrations folder [default: migrations, or the environment's setting]
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// Configuration file [default: ./cutover.toml when present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Environment from the configuration file (also CUTOVER_ENV)
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// SQL to run on every connection first (repeatable), after the environment's init_sql
    #[arg(long = "init-sql", global = true, value_name = "SQL")]
    pub init_sql: Vec<String>,
    /// How long to wait for another cutover run's lock, e.g. 30s or 5m [default: 60s]
    /// (`--lock-timeout` is its old name; the migrations' own lock timeout is the
    /// environment's `guard.lock_timeout`)
    #[arg(long, global = true, value_name = "DURATION", value_parser = duration, alias = "lock-timeout")]
    pub run_lock_timeout: Option<Duration>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail (repeat for more)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Never use colours (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
}

fn duration(s: &str) -> Result<Duration, String> {
    cutover::config::parse_duration(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a cutover.toml with a `dev` environment on SQLite and an empty migrations/
    Init,
    /// Create the next migration (up and down scripts) with a UTC timestamp version
    New {
        /// What the migration does, e.g. create_students
        name: String,
        /// Create only the up script
        #[arg(long)]
        no_down: bool,
    },
    /// Show every migration: applied, pending, changed, missing, failed or skipped
    Status {
        /// Exit 1 when anything is pending, changed, missing or failed (for CI)
        #[arg(long)]
        check: bool,
    },
    /// Apply pending migrations in order, each in its own transaction where the engine allows
    Migrate {
        /// Stop after this version
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Print what would run, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Run down scripts, newest first (default: the newest one), under the environment's policy
    #[command(
        after_help = "A rollback is a governed run: approval where the policy asks for it, a safety backup where it \
requires backups, the before-rollback and after-rollback hooks, notifications, and a row in cutover_runs.\n\n\
Examples:\n  cutover rollback --steps 2\n  cutover --env prod rollback --to 20240105090600 --yes\n  \
cutover --env prod rollback --run 01a2 --dry-run"
    )]
    Rollback(RollbackArgs),
    /// Correct the history by hand after repairing a failed migration or reviewing an edit
    #[command(
        after_help = "Examples:\n  cutover resolve --rolled-back 20240105090300\n  \
cutover --env prod resolve --applied 20240105090300 --yes"
    )]
    Resolve(ResolveArgs),
    /// Adopt an existing database: mark every migration up to VERSION as applied without running it
    #[command(
        after_help = "Examples:\n  cutover baseline --version 20240105090600 --dry-run\n  \
cutover --env prod baseline --version 20241031_baseline_schema_only --yes"
    )]
    Baseline {
        #[arg(long, value_name = "VERSION")]
        version: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Take over another tool's history: record what it applied as applied, running nothing
    #[command(
        after_help = "Reads the history table of Prisma (_prisma_migrations), Flyway (flyway_schema_history), \
golang-migrate or dbmate (schema_migrations), sqlx (_sqlx_migrations), goose (goose_db_version), Diesel \
(__diesel_schema_migrations), Liquibase (DATABASECHANGELOG), sqitch (its registry, PostgreSQL and MariaDB) or \
Laravel (migrations), matches each entry to a migration file and records it in cutover_migrations as \
applied. Nothing is run and the other tool's table is left as it is.\n\n\
Entries adoption cannot decide alone stop it with a list, until you say how to treat them: failed or \
dirty ones (--failed), rolled-back ones (--rolled-back), ones with no migration file (--ignore-missing), \
files that differ from what the tool ran, by the checksum it recorded (Prisma, Flyway, sqitch; --accept-edited).\n\n\
Examples:\n  cutover adopt --dry-run                      # the mapping, entry by entry\n  \
cutover --json adopt --dry-run\n  cutover --env prod adopt --from flyway --yes\n  \
cutover adopt --failed pending --ignore-missing\n\n\
Exit codes: 0 adopted (or nothing to adopt); 2 no such table, or more than one and no --from; 5 undecided \
entries (the list says which)."
    )]
    Adopt(AdoptArgs),
    /// Run the environment's seeds alone, as a deploy with no migrations would
    #[command(
        after_help = "Examples:\n  cutover seed --env dev\n  cutover seed --env staging --dry-run"
    )]
    Seed(RunArgs),
    /// Print the live schema: tables, columns, keys, indexes, constraints, views, and its fingerprint
    Schema,
    /// Compare two schemas; by default the target's own migrations against the target (drift)
    #[command(
        after_help = "Sides: `target`, `migrations` (applied to a scratch database of the target's engine, \
up to the newest version the target has applied), or a database URL.\n\n\
Examples:\n  cutover diff                                  # drift: what was changed by hand\n  \
cutover diff --from postgres://app@staging/app --to target\n\n\
Exit code 1 when the sides differ."
    )]
    Diff {
        /// The side the changes are relative to
        #[arg(long, default_value = "migrations", value_name = "SIDE")]
        from: String,
        /// The side whose differences are listed as added, removed or changed
        #[arg(long, default_value = "target", value_name = "SIDE")]
        to: String,
    },
    /// Replace the migrations up to VERSION with one baseline, proved equal in scratch databases
    #[command(
        after_help = "Applies the migrations up to VERSION to a scratch database on the target's server (the \
target itself is never touched), dumps its schema with the engine's own tool (pg_dump, mariadb-dump, \
sqlite_schema), applies that baseline to a second scratch database and compares the two: schema, grants, \
routines, triggers, sequences and the --with-data rows. Only when they are equal are the squashed files \
moved to cutover-squashed/ and the baseline written in the last one's place. A database that applied all \
of them treats the baseline as applied; a fresh one runs only the baseline; one stopped part-way is refused.\n\n\
Examples:\n  cutover squash --through 20240105090600\n  \
cutover --env dev squash --through 0042 --with-data roles,settings --dry-run\n\n\
Exit code 1 when the baseline does not reproduce the schema (the differences are listed, nothing changes)."
    )]
    Squash {
        /// The last migration the baseline replaces (an id or a version)
        #[arg(long, value_name = "VERSION")]
        through: String,
        /// Tables whose rows the baseline carries (rows earlier migrations seeded), comma-separated
        #[arg(long, value_name = "TABLE,...", value_delimiter = ',')]
        with_data: Vec<String>,
        /// Prove it, change no file
        #[arg(long)]
        dry_run: bool,
    },
    /// Try the pending migrations on a scratch copy of the environment: timed, verified, rolled back, applied again
    #[command(
        after_help = "Makes a scratch database on the environment's server (or at [environments.<n>.rehearse] url), \
copies the environment's schema and history into it (`--copy data`: every row too; `--copy sample`: \
up to --sample-rows rows of each table), applies the pending \
migrations timing each one, runs the environment's verify checks and [expect], rolls every migration back \
and proves the schema equals the copy's, then applies them again and proves it equals the first apply. A \
migration without a down script stops the round trip there. The environment is only read; the scratch \
database is dropped on every way out.\n\n\
Examples:\n  cutover rehearse --env prod\n  \
cutover rehearse --env staging --copy data --report rehearsal.html --report rehearsal.json\n  \
cutover rehearse --env prod --copy sample --sample-rows 500\n\n\
Exit code 1 when anything differs, a check fails or a migration fails."
    )]
    Rehearse {
        /// schema (default, or [environments.<n>.rehearse] copy), data, or sample
        #[arg(long, value_enum, value_name = "WHAT")]
        copy: Option<CopyArg>,
        /// With --copy sample: rows per table [default: rehearse.sample_rows, or 1000]
        #[arg(long, value_name = "N")]
        sample_rows: Option<u64>,
        /// Write the report to FILE: .json, .md or .html by extension (repeatable)
        #[arg(long, value_name = "FILE")]
        report: Vec<PathBuf>,
    },
    /// Check the target: connectivity, migrations, [expect], integrity, [[checks]], security, drift
    #[command(
        after_help = "Levels: basic (connectivity, migration state), standard (+ [expect], orphaned rows \
for every foreign key, [expect.unique] duplicates, [[checks]], security), comprehensive (+ drift against \
the migrations, foreign keys without an index, tables without a primary key, largest tables).\n\n\
Examples:\n  cutover validate\n  cutover --env prod validate --level comprehensive --report validate.html\n  \
cutover validate --report out.json --report out.md --fail-on warn\n\n\
Exit code 0 when nothing failed (and, with --fail-on warn, nothing warned); 1 otherwise."
    )]
    Validate {
        /// basic, standard or comprehensive [default: standard, or [validate] level]
        #[arg(long, value_enum, value_name = "LEVEL")]
        level: Option<LevelArg>,
        /// Write the report to FILE: .json, .md or .html by extension (repeatable)
        #[arg(long, value_name = "FILE")]
        report: Vec<PathBuf>,
        /// Exit non-zero on failures only (fail) or on warnings too (warn) [default: [validate] fail_on, or fail]
        #[arg(long, value_enum, value_name = "STATUS")]
        fail_on: Option<FailOnArg>,
    },
    /// Find statements that lock, rewrite or scan tables, or break the application still running
    #[command(
        after_help = "Reads migration folders (every supported layout) and SQL files. With a target (--url, --env, \
DATABASE_URL) it lints the pending migrations as one run and says each table's size and an estimated time; \
without one (or with --offline) it needs --dialect and lints each migration on its own.\n\n\
Suppress a finding with `-- cutover:allow RULE reason` just above the statement, or `-- cutover:allow-file RULE \
reason` for the whole script; configure rules in [lint] of cutover.toml.\n\n\
Examples:\n  cutover lint --dialect postgres migrations/\n  cutover --env prod lint\n  \
cutover lint --dialect mariadb --format github migrations/2024*.sql\n  cutover lint --dialect sqlite --format sarif > lint.sarif\n  \
cutover lint --rules\n\n\
Exit codes: 0 nothing at or above the fail-on severity; 1 a finding at or above it (error by default); \
2 bad input (arguments, configuration, a script that cannot be split); 9 a file could not be read."
    )]
    Lint(LintArgs),
    /// Back up, verify, restore, list and prune backups (native dumps, zstd, manifests)
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Run the whole deployment: preflight, approval, backup, maintenance, migrate, seed, verify, smoke, watch
    #[command(
        after_help = "Phases: preflight → approval → notify(start) → backup(+verify) → maintenance on → hooks → migrate \
→ hooks → seed → verify → maintenance off → smoke → watch → notify(result). A failure after the first change rolls back \
(down scripts or the pre-deploy backup, by the policy's `rollback`) and proves the schema is back to its pre-deploy \
fingerprint. Journal and reports (JSON, Markdown, HTML) go to .cutover/runs/<run id>/.\n\n\
Exit codes: 0 deployed (or nothing to do); 10 failed before changing anything; 11 failed and rolled back; \
12 failed and the rollback did not restore the pre-deploy schema.\n\n\
Examples:\n  cutover deploy --env dev\n  cutover deploy --env prod --dry-run\n  cutover deploy --env prod --yes --report-dir /var/log/cutover\n  \
cutover deploy --env prod --to 20240105090600   # the expand step; its contract step ships later\n  \
cutover deploy --env prod --phase contract      # the contract steps, once contract_gate passes"
    )]
    Deploy(DeployArgs),
    /// Write what a deploy would apply, with checksums and the target's state, for approval;
    /// `--sql DIR` writes each up script as the engine's own client would run it
    #[command(
        after_help = "`--sql DIR` writes one file per pending migration, in the order they apply \
(`0001_<version>_<name>.sql`, …), holding the up script as cutover reads it, ready for `psql -1 -f`, \
`mariadb <` or `sqlite3 -bail`: for review before a release, or to replay by hand.\n\n\
Examples:\n  cutover --env prod plan --out release-42.plan.json\n  \
cutover --env prod plan --out release-42.plan.json --sql release-42-sql/\n  \
cutover --env prod deploy --plan release-42.plan.json --yes"
    )]
    #[command(group(clap::ArgGroup::new("plan_output").args(["out", "sql"]).required(true).multiple(true)))]
    Plan {
        /// Write the plan (JSON) to this file
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write each pending up script to this folder, as the engine's client runs it
        #[arg(long, value_name = "DIR")]
        sql: Option<PathBuf>,
        /// Stop after this migration
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
    },
    /// Past deploys recorded in the target (cutover_runs), and one run's phases
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Fleets of targets: where each one stands
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Copy rows between any two databases (SQLite, PostgreSQL, MariaDB/MySQL), reconciled and resumable
    #[command(
        after_help = "SOURCE and TARGET are database URLs or environment names from cutover.toml. \
Tables load in foreign-key order, in batches each committed with its checkpoint; the run id is \
printed first, and `--resume RUN` carries on after the last committed batch. After the load every \
table is read back and reconciled with the source: row counts, sums of numbers, checksums of the \
rest.\n\n\
Examples:\n  cutover transfer --from sqlite://legacy.db --to postgres://app@db/app --create-tables\n  \
cutover transfer --from mysql://root@old/shop --to prod --tables customers,orders\n  \
cutover transfer --from sqlite://legacy.db --to postgres://app@db/app --resume 0190c5d2-…\n  \
cutover transfer --from staging --to sqlite://copy.db --create-tables --dry-run --json\n\n\
Exit codes: 0 loaded and reconciled; 1 loaded but the reconciliation found differences; 2 bad \
input (nothing changed); 3 a database error (resume the run); 5 refused (a type with no equal, \
tables that already hold rows)."
    )]
    Transfer(TransferArgs),
    /// Copy one environment's database into another's for tests: schema, rows (all, a
    /// sample, or masked), and the migration history
    #[command(
        after_help = "Replaces everything in the --to environment's database with the --from environment's: \
the schema as the engine's dump tool writes it (tables, keys, indexes, constraints, views, routines, \
triggers), the rows (none with --schema-only; at most ROWS per table with --sample, children only \
pointing at sampled parents; masked per column with --mask FILE), and the migration history \
(cutover_migrations), so the target knows its schema version. cutover's run records are not carried: \
the target keeps its own, and the clone is recorded there (kind clone, with the source's name). It \
is a governed run: the target's approval, backup, maintenance and notification policy apply.\n\n\
Refused, with nothing changed: a prod target (environments.<n>.kind), a target with \
`clone_target = false`, a source on another engine, the source's own database.\n\n\
Examples:\n  cutover clone --from prod --to staging --mask mask.toml\n  \
cutover clone --from staging --to dev --sample 1000\n  \
cutover clone --from prod --to test --schema-only --yes\n\n\
Mask file:\n  [columns]\n  \"users.email\" = \"email\"\n  \"users.full_name\" = \"name\"\n  \
\"users.phone\" = { fixed = \"555-0100\" }\n  \"users.notes\" = \"null\"\n  \"users.ssn\" = \"hash\"\n\n\
Exit codes: 0 cloned; 2 bad input (flags, configuration, a mask file mistake named by line; nothing \
changed); 3 a database error (the target may hold part of the clone: run it again); 5 refused (prod \
target, clone_target = false, engines differ, same database, approval needed without --yes; nothing \
changed); 6 another run holds the target's lock; 7 a dump tool is missing; 10 stopped before \
changing anything (a failed preflight check, approval declined)."
    )]
    Clone(CloneArgs),
    /// Check cutover.toml and print an environment's effective settings and policy
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Dump the whole database (pg_dump, mariadb-dump, SQLite online backup) through zstd, with a manifest
    #[command(
        after_help = "Examples:\n  cutover backup create\n  cutover --env prod backup create --verify restore\n  \
cutover backup create --out /var/backups/app-before-upgrade.pgdump.zst"
    )]
    Create {
        /// Folder for the backup [default: the environment's [backup] dir, or ./backups]
        #[arg(long, value_name = "DIR", conflicts_with = "out")]
        dir: Option<PathBuf>,
        /// Exact file to write
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Verify right away: checksum, or restore into a scratch database [default: the policy's]
        #[arg(long, value_enum, value_name = "LEVEL")]
        verify: Option<VerifyArg>,
    },
    /// Backups in the folder, newest first: engine, database, migration, size, created, verified
    List {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Also list the backups at each off-site destination (`copies`) and which are where
        #[arg(long)]
        copies: bool,
    },
    /// Re-hash a backup (checksum) or restore it into a scratch database and compare (restore)
    #[command(
        after_help = "Examples:\n  cutover backup verify backups/app_prod_20261121_220509_20240105090700.pgdump.zst\n  \
cutover --env prod backup verify FILE --level restore"
    )]
    Verify {
        file: PathBuf,
        /// checksum or restore [default: the environment's policy]
        #[arg(long, value_enum, value_name = "LEVEL")]
        level: Option<VerifyArg>,
    },
    /// Replace the target with a backup: checksum first, a safety backup, then the restore
    #[command(
        after_help = "Asks for the database's name on a terminal; without one, --yes is required. A restore is a \
governed run: a safety backup, maintenance mode, notifications and a row in cutover_runs, which the restore keeps.\n\n\
Examples:\n  cutover --env staging backup restore FILE\n  cutover --env prod backup restore FILE --yes"
    )]
    Restore {
        file: PathBuf,
        /// Do not back up the target first (refused unless the policy allows skipping backups)
        #[arg(long)]
        no_safety_backup: bool,
        #[command(flatten)]
        flags: RunArgs,
    },
    /// Delete old backups: keeps the newest verified one, the newest N, and those younger than the retention
    #[command(
        after_help = "Examples:\n  cutover backup prune --dry-run\n  cutover backup prune --keep-days 14 --keep 5"
    )]
    Prune {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Keep backups younger than this [default: the policy's retention_days: dev 7, test 14, prod 35]
        #[arg(long, value_name = "N")]
        keep_days: Option<u32>,
        /// Keep at least the newest N of each database and environment [default: 3]
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Say what would be deleted, delete nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Every deploy recorded in the target, newest first
    List,
    /// One run: who, when, outcome, migrations, backup, and its phases when its report is here
    Show {
        /// The run id (or its beginning)
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Each target's newest migration, pending count and drift; exit 1 when the fleet is mixed
    #[command(
        after_help = "Examples:\n  cutover --env tenants fleet status\n  cutover --env tenants fleet status --json"
    )]
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read cutover.toml, check the selected environment's settings, print its effective policy
    #[command(
        after_help = "An unknown key, a bad duration, a bad check or an unset ${VARIABLE} is an error \
naming the line or setting (exit 2).\n\nExamples:\n  cutover config check\n  cutover --env prod config check --json"
    )]
    Check,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Migration folders and SQL files [default: the environment's migrations folder]
    pub paths: Vec<PathBuf>,
    /// The SQL dialect when there is no target, or with --offline
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<DialectArg>,
    /// text, json, sarif or github (workflow-command annotations) [default: text; json with --json]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<LintFormat>,
    /// Do not connect to the target: no table sizes, no history
    #[arg(long)]
    pub offline: bool,
    /// Lint the migrations the target has applied too
    #[arg(long)]
    pub all: bool,
    /// Exit 1 on errors only, or on warnings too [default: [lint] fail_on, or error]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<LintFailOn>,
    /// List every rule (id, engine, severity, the safe way) and exit
    #[arg(long)]
    pub rules: bool,
}

/// What `rehearse` copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CopyArg {
    Schema,
    Data,
    Sample,
}

impl From<CopyArg> for cutover::config::CopyMode {
    fn from(c: CopyArg) -> Self {
        match c {
            CopyArg::Schema => cutover::config::CopyMode::Schema,
            CopyArg::Data => cutover::config::CopyMode::Data,
            CopyArg::Sample => cutover::config::CopyMode::Sample,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DialectArg {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LintFailOn {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum VerifyArg {
    Checksum,
    Restore,
}

impl From<VerifyArg> for cutover::backup::VerifyLevel {
    fn from(v: VerifyArg) -> Self {
        match v {
            VerifyArg::Checksum => cutover::backup::VerifyLevel::Checksum,
            VerifyArg::Restore => cutover::backup::VerifyLevel::Restore,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LevelArg {
    Basic,
    Standard,
    Comprehensive,
}

impl From<LevelArg> for cutover::validate::Level {
    fn from(l: LevelArg) -> Self {
        use cutover::validate::Level;
        match l {
            LevelArg::Basic => Level::Basic,
            LevelArg::Standard => Level::Standard,
            LevelArg::Comprehensive => Level::Comprehensive,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FailOnArg {
    Fail,
    Warn,
}

impl From<FailOnArg> for cutover::config::FailOn {
    fn from(f: FailOnArg) -> Self {
        match f {
            FailOnArg::Fail => cutover::config::FailOn::Fail,
            FailOnArg::Warn => cutover::config::FailOn::Warn,
        }
    }
}

/// `cutover adopt`: how to treat what it cannot decide alone.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The tool whose history to take over, when the target holds more than one
    #[arg(long, value_name = "TOOL", value_parser = clap::builder::PossibleValuesParser::new(cutover::adopt::tool_names()))]
    pub from: Option<String>,
    /// Failed or dirty entries: record them as applied (finished by hand) or leave them pending
    #[arg(long, value_enum, value_name = "HOW")]
    pub failed: Option<TreatArg>,
    /// Rolled-back entries: leave them pending, or record them as applied
    #[arg(long, value_enum, value_name = "HOW")]
    pub rolled_back: Option<TreatArg>,
    /// Leave out entries that no migration file matches
    #[arg(long)]
    pub ignore_missing: bool,
    /// Record files that differ from what the tool ran (by its checksum) as they are now
    #[arg(long)]
    pub accept_edited: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How `adopt` treats entries it cannot decide alone.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TreatArg {
    Applied,
    Pending,
}

/// What every governed run (deploy, rollback, seed, resolve, baseline, adopt, restore) accepts.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Say what would change; change nothing, notify nobody
    #[arg(long)]
    pub dry_run: bool,
    /// Approve in advance (needed without a terminal when the policy requires approval)
    #[arg(long)]
    pub yes: bool,
    /// Do not switch maintenance mode on or off
    #[arg(long)]
    pub no_maintenance: bool,
    /// Do not back up first (refused unless the policy allows it)
    #[arg(long)]
    pub skip_backup: bool,
    /// Each run's journal and reports go to DIR/<run id>/ [default: .cutover/runs]
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
}

/// `deploy --phase`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PhaseArg {
    Expand,
    Contract,
}

impl From<PhaseArg> for cutover::migrations::Stage {
    fn from(p: PhaseArg) -> Self {
        match p {
            PhaseArg::Expand => cutover::migrations::Stage::Expand,
            PhaseArg::Contract => cutover::migrations::Stage::Contract,
        }
    }
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub flags: RunArgs,
    /// Apply exactly this plan (from `cutover plan`); refuse if the files or the target changed
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Stop after this migration (ship an expand step before its contract step)
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Expand and contract: `expand` (the default) applies what is pending before the
    /// first `-- cutover:phase contract` migration; `contract` applies the contract
    /// migrations once the environment's contract_gate checks pass
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<PhaseArg>,
    /// Fleets: pick up this fleet run where it stopped (its id was printed when it started)
    #[arg(long, value_name = "FLEET_RUN")]
    pub resume: Option<String>,
    /// Fleets, with --resume: deploy the targets that failed again
    #[arg(long, requires = "resume")]
    pub retry_failed: bool,
    /// Fleets: join the run in the fleet's coordination database (or start one)
    #[arg(long)]
    pub worker: bool,
    /// Fleets: only shard I of N of the targets (a fixed share, e.g. 2/4)
    #[arg(long, value_name = "I/N", value_parser = shard)]
    pub shard: Option<(u32, u32)>,
}

fn shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a shard like 2/4 (I of N, 1 <= I <= N)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// How many migrations to roll back
    #[arg(long, value_name = "N", conflicts_with_all = ["to", "run"])]
    pub steps: Option<usize>,
    /// Undo a finished deploy (`cutover runs list`) by the environment's rollback rules
    #[arg(long, value_name = "RUN_ID", conflicts_with = "to")]
    pub run: Option<String>,
    /// Roll back everything applied after this version
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    #[command(flatten)]
    pub flags: RunArgs,
}

#[derive(Debug, Args)]
#[group(id = "resolution", required = true, multiple = false, args = ["applied", "rolled_back", "accept_checksum"])]
pub struct ResolveArgs {
    /// The migration is now fully applied: record it as applied
    #[arg(long, value_name = "VERSION")]
    pub applied: Option<String>,
    /// The migration is not applied (undone by hand): forget it
    #[arg(long, value_name = "VERSION")]
    pub rolled_back: Option<String>,
    /// The edited file was reviewed: store its new checksum
    #[arg(long, value_name = "VERSION")]
    pub accept_checksum: Option<String>,
    #[command(flatten)]
    pub flags: RunArgs,
}

/// `cutover clone`.
#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The environment copied from (only read)
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment whose database is replaced
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Tables, keys, indexes, constraints and views; no rows
    #[arg(long, conflicts_with_all = ["sample", "mask"])]
    pub schema_only: bool,
    /// At most ROWS rows per table, keeping foreign keys consistent
    #[arg(long, value_name = "ROWS")]
    pub sample: Option<u64>,
    /// A mask file (TOML): per `table.column`, email, name, hash, null or { fixed = VALUE }
    #[arg(long, value_name = "FILE")]
    pub mask: Option<PathBuf>,
    #[command(flatten)]
    pub flags: RunArgs,
}

/// `cutover transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The database rows are read from: a URL or an environment name
    #[arg(long, value_name = "SOURCE")]
    pub from: String,
    /// The database rows are written to: a URL or an environment name
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Only these tables (comma-separated) [default: every table of the source]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Create the tables the target lacks (keys and indexes are added after the load)
    #[arg(long, conflicts_with = "mapping")]
    pub create_tables: bool,
    /// A mapping file (TOML): target tables made from the source by expressions, lookups
    /// and keys, instead of copied like for like
    #[arg(long, value_name = "FILE", conflicts_with = "tables")]
    pub mapping: Option<PathBuf>,
    /// Carry on run RUN after its last committed batch
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// Rows per batch and checkpoint
    #[arg(long, value_name = "ROWS", default_value_t = 10_000)]
    pub batch: usize,
    /// Plan and count rows; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run the mapping's quality checks on the source and stop (exit 1 when one fails)
    #[arg(long, requires = "mapping")]
    pub check_only: bool,
    /// Write the quality checks as a report too, by extension: .json, .md or .html (repeatable)
    #[arg(long, value_name = "FILE", requires = "mapping")]
    pub report: Vec<PathBuf>,
}
