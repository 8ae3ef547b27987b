//! Migration files: finding them in any supported layout, reading their directives,
//! ordering them and checksumming them. Knows files and history, no SQL dialect beyond
//! the file-name rules of layouts that select files per dialect (ory/popx).
//!
//! Entry point: [`discover`]. `layout` detects the layout and dispatches to one reader per
//! family: `flat` (native, sqlx, Flyway with its repeatables), `dbmate`, `goose`, `popx`,
//! `folders` (Diesel, Prisma, memos version folders), `liquibase` (formatted SQL
//! changelogs), `sqitch` (a plan and its deploy/revert/verify scripts) and `atlas` (a
//! directory checked against its `atlas.sum`). `markers` holds the table of other tools'
//! in-file markers, which every reader checks every line against.

mod atlas;
mod dbmate;
mod directives;
mod error;
mod flat;
mod folders;
mod goose;
mod layout;
mod liquibase;
mod markers;
mod popx;
mod sqitch;
mod squashed;
mod tree;
mod version;

pub use directives::{Backfill, Directives, Stage};
pub use error::Error;
pub use layout::{Discovered, Ignored, Layout, detect, discover, discover_only};
pub use liquibase::EnvFilter;
pub use markers::{KNOWN_MARKERS, KnownMarker, Support, find as find_marker};
pub use squashed::{ARCHIVE, MANIFEST, Squash, Squashed};
pub use version::Version;

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sql::{Dialect, SplitError, Statement};

/// How often a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Once; an edit after it ran is reported as `changed`.
    Versioned,
    /// In its place in the order, and again whenever its checksum changes (Liquibase
    /// `runOnChange:true`).
    RunOnChange,
    /// After every versioned migration, and again whenever its checksum changes; never
    /// rolled back (Flyway `R__` scripts).
    Repeatable,
}

impl Kind {
    /// Whether a changed checksum means "run it again" rather than "edited after it ran".
    pub fn reruns_on_change(self) -> bool {
        self != Kind::Versioned
    }
}

/// One migration: an up script, an optional down script, and how it is identified.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The identity stored in the history table's `version` column: the version for most
    /// layouts (Flyway's with `_` written as `.`, a Laravel timestamp's digits run
    /// together), the whole folder name for Prisma and Diesel, `<folder>/<file stem>` for
    /// version folders, the file stem for Flyway repeatables (`R__views`),
    /// `<file>::<id>::<author>` for a Liquibase changeset, the change name for sqitch
    /// (`<name>#2` for a rework).
    pub id: String,
    /// The ordering key (number groups of the version).
    pub version: Version,
    /// Human name (`create_users`).
    pub name: String,
    pub up: Script,
    /// `None` when the layout has no down script for this migration (a missing file);
    /// `Some` with empty text is an intentional no-op down script.
    pub down: Option<Script>,
    /// Hex SHA-256 of the up script with CRLF normalised to LF.
    pub checksum: String,
    pub kind: Kind,
    /// A script run right after the up script, in its transaction where the engine allows;
    /// an error from it fails the migration (sqitch `verify/`).
    pub verify: Option<Script>,
    /// The environments it runs in, beyond `-- cutover:env` (Liquibase `context`/`labels`).
    pub envs: Option<EnvFilter>,
    /// Liquibase `dbms` that only the server can decide (MariaDB or MySQL behind one
    /// dialect): `Discovered::for_server` keeps or drops the migration.
    pub(crate) dbms: Option<liquibase::Dbms>,
}

impl Migration {
    pub(crate) fn new(
        id: String,
        version: Version,
        name: String,
        up: Script,
        down: Option<Script>,
    ) -> Migration {
        Migration {
            checksum: checksum(&up.sql),
            id,
            version,
            name,
            up,
            down,
            kind: Kind::Versioned,
            verify: None,
            envs: None,
            dbms: None,
        }
    }

    /// Whether it runs in environment `env` (`None`: none selected): its `-- cutover:env`
    /// directive and its Liquibase contexts and labels must all admit it.
    pub fn runs_in(&self, env: Option<&str>) -> bool {
        let directive = match &self.up.directives.envs {
            None => true,
            Some(list) => env.is_some_and(|e| list.iter().any(|x| x == e)),
        };
        directive && self.envs.as_ref().is_none_or(|f| f.admits(env))
    }

    /// Why it cannot be rolled back when it has no down script, in its layout's words: a
    /// file beside it, a section of its own file, a rollback of its changeset, a revert
    /// script.
    pub fn missing_down(&self) -> String {
        let path = self.up.path.display();
        match self.up.layout {
            Layout::Dbmate => format!("no down section (`-- migrate:down`) in {path}"),
            Layout::Goose => format!("no down section (`-- +goose Down`) in {path}"),
            Layout::Liquibase => format!(
                "no rollback (`--rollback` lines or a `/* liquibase rollback */` block) in its changeset in {path}"
            ),
            Layout::Sqitch => format!(
                "no revert script {}",
                sqitch::revert_path(&self.up.path).display()
            ),
            Layout::Atlas => format!("Atlas directories have no down scripts ({path})"),
            Layout::Prisma | Layout::Diesel => format!("no down.sql beside {path}"),
            Layout::Flyway if self.kind == Kind::Repeatable => {
                format!("{path} is a Flyway repeatable migration, which has no undo")
            }
            Layout::Flyway => format!("no undo script (U<version>__…) beside {path}"),
            _ => format!("no down script beside {path}"),
        }
    }

    /// What its down script is called in messages: a section of a single-file layout, or
    /// a script.
    pub fn down_noun(&self) -> &'static str {
        match self.up.layout {
            Layout::Dbmate | Layout::Goose => "down section",
            Layout::Liquibase => "rollback",
            Layout::Sqitch => "revert script",
            _ => "down script",
        }
    }
}

/// The text of one direction of a migration and where it came from.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file the text was read from (for single-file layouts, both directions share it).
    pub path: PathBuf,
    /// The SQL of this direction only (for dbmate, the section's text), without a leading
    /// UTF-8 byte order mark. Line endings are kept as in the file.
    pub sql: String,
    /// Lines in `path` before `sql` starts (0 for a whole file), so that statement line
    /// `n` of `sql` is line `n + line_offset` of the file.
    pub line_offset: usize,
    /// Directives from the script's leading comment block and the layout's own markers.
    pub directives: Directives,
    /// False for a down script that has been found but not read yet: `sql` is empty and
    /// `directives` holds only the layout's marker until `Discovered::read_downs`.
    pub(crate) loaded: bool,
    /// The layout of the folder the script was read from: it decides which markers the
    /// text may carry and how it splits into statements (goose statement blocks).
    pub(crate) layout: Layout,
    /// How its text becomes statements.
    pub(crate) splitting: Splitting,
}

/// How a script's text becomes the statements sent to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Splitting {
    /// As the engine's own client splits it.
    Client,
    /// goose: statement blocks are one statement each; `envsub` says whether `${VAR}`
    /// substitution is on where the script starts (an `ENVSUB ON` above its section).
    Goose { envsub: bool },
    /// Liquibase formatted SQL: its own splitter, or none (`splitStatements:false`).
    Liquibase(liquibase::Splitting),
    /// sqitch: as the client splits, without the script's own outer `BEGIN` … `COMMIT`
    /// (cutover's transaction takes its place).
    Sqitch,
    /// Atlas `-- atlas:delimiter`: statements end at this delimiter.
    Delimiter(String),
}

impl Script {
    /// A script from text taken from `path` at `line_offset`, in a file of `layout`;
    /// `no_transaction` is the layout's own marker (popx `.autocommit`, dbmate
    /// `transaction:false`, …), added to what the text's directives say.
    pub(crate) fn new(
        path: &Path,
        sql: String,
        line_offset: usize,
        no_transaction: bool,
        layout: Layout,
    ) -> Result<Script, Error> {
        let mut directives = Directives::parse_in(path, &sql, line_offset, Some(layout))?;
        directives.no_transaction |= no_transaction;
        Ok(Script {
            path: path.to_path_buf(),
            sql,
            line_offset,
            directives,
            loaded: true,
            layout,
            splitting: Splitting::Client,
        })
    }

    /// A whole-file script that is read later (down scripts: most runs never need them,
    /// and not reading them halves the files a no-op `migrate` opens).
    pub(crate) fn pending(path: &Path, no_transaction: bool, layout: Layout) -> Script {
        Script {
            path: path.to_path_buf(),
            sql: String::new(),
            line_offset: 0,
            directives: Directives {
                no_transaction,
                envs: None,
                phase: None,
                backfill: None,
            },
            loaded: false,
            layout,
            splitting: Splitting::Client,
        }
    }

    /// Read a pending script's file.
    pub(crate) fn load(&mut self) -> Result<(), Error> {
        if !self.loaded {
            *self = Script::read(&self.path, self.directives.no_transaction, self.layout)?;
        }
        Ok(())
    }

    /// A whole file as a script.
    pub(crate) fn read(path: &Path, no_transaction: bool, layout: Layout) -> Result<Script, Error> {
        Script::new(path, read_text(path)?, 0, no_transaction, layout)
    }

    /// Whether its statements are the ones the engine's own client finds in its text
    /// (not goose blocks, Liquibase, sqitch or an Atlas delimiter).
    pub fn is_client_split(&self) -> bool {
        self.splitting == Splitting::Client
    }

    /// The statements of this script as its tool sends them, in order, each with its line
    /// in `sql` (add `line_offset` for the line in the file): split as the engine's client
    /// splits, except goose statement blocks (one statement each) and `${VAR}`
    /// substitution, Liquibase's own splitting, sqitch's outer transaction, and Atlas's
    /// delimiter. An error names the line in `sql`.
    pub fn statements(&self, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
        match &self.splitting {
            Splitting::Client => crate::sql::split(&self.sql, dialect),
            Splitting::Goose { envsub } => goose::statements(&self.sql, *envsub, dialect),
            Splitting::Liquibase(how) => liquibase::statements(&self.sql, how),
            Splitting::Sqitch => sqitch::statements(&self.sql, dialect),
            Splitting::Delimiter(d) => crate::sql::split_with_delimiter(&self.sql, dialect, d),
        }
    }
}

/// Lowercase hex SHA-256 of `sql` with every `\r\n` read as `\n`, so that a checkout with
/// other line endings does not look like an edited migration.
pub fn checksum(sql: &str) -> String {
    let digest = if sql.contains('\r') {
        Sha256::digest(sql.replace("\r\n", "\n").as_bytes())
    } else {
        Sha256::digest(sql.as_bytes())
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

/// The whole file in one `read` of its known size (`fs::read` adds a second read to find
/// the end, and a no-op run reads a thousand files on every deploy). Migration files do
/// not change while they are read.
///
/// Only a regular file is read: the folder listing names anything else, and this check on
/// the opened file covers an entry replaced since. Opening does not wait, so a FIFO put in
/// place meanwhile cannot hang the run.
fn read_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let io = |e| Error::io(path, e);
    let mut file = options.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            kind: tree::kind_of(&meta.file_type()),
        });
    }
    let len = meta.len() as usize;
    let mut bytes = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match file.read(&mut bytes[filled..]).map_err(io)? {
            0 => break, // shrank since the size was read
            n => filled += n,
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Reads a file as UTF-8 text without a leading byte order mark.
fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = read_bytes(path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::NotUtf8 {
            path: path.to_path_buf(),
            line,
        }
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `dir/rel` (creating folders) with `text`.
    pub fn write(dir: &Path, rel: &str, text: &str) {
        write_bytes(dir, rel, text.as_bytes());
    }

    pub fn write_bytes(dir: &Path, rel: &str, bytes: &[u8]) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    /// The ids of the migrations found, in order.
    pub fn names(found: &Discovered) -> Vec<&str> {
        found.migrations.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn checksum_ignores_crlf_and_is_lowercase_hex_sha256() {
        // `printf 'SELECT 1;\n' | sha256sum`
        let lf = checksum("SELECT 1;\n");
        assert_eq!(
            lf,
            "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd"
        );
        assert_eq!(lf, checksum("SELECT 1;\r\n"));
        assert_ne!(lf, checksum("SELECT 2;\n"));
        assert_eq!(
            checksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn crlf_file_has_the_same_checksum_as_lf_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            &tmp.path().join("lf"),
            "1_a.sql",
            "CREATE TABLE t (id int);\nSELECT 1;\n",
        );
        write(
            &tmp.path().join("crlf"),
            "1_a.sql",
            "CREATE TABLE t (id int);\r\nSELECT 1;\r\n",
        );
        let lf = discover(&tmp.path().join("lf"), crate::sql::Dialect::Sqlite).unwrap();
        let crlf = discover(&tmp.path().join("crlf"), crate::sql::Dialect::Sqlite).unwrap();
        assert_eq!(lf.migrations[0].checksum, crlf.migrations[0].checksum);
        assert!(
            crlf.migrations[0].up.sql.contains("\r\n"),
            "the text itself is kept as is"
        );
    }

    #[test]
    fn bom_is_dropped_from_the_text() {
        let tmp = tempfile::tempdir().unwrap();
        write_bytes(
            tmp.path(),
            "1_a.sql",
            b"\xef\xbb\xbf-- cutover:no-transaction\nSELECT 1;\n",
        );
        let found = discover(tmp.path(), crate::sql::Dialect::Sqlite).unwrap();
        let m = &found.migrations[0];
        assert_eq!(m.up.sql, "-- cutover:no-transaction\nSELECT 1;\n");
        assert!(
            m.up.directives.no_transaction,
            "the directive after the BOM is read"
        );
        assert_eq!(
            m.checksum,
            checksum("-- cutover:no-transaction\nSELECT 1;\n")
        );
    }

    #[test]
    fn non_utf8_file_is_an_error_naming_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        write_bytes(tmp.path(), "1_a.up.sql", b"SELECT 1;\nSELECT '\xff';\n");
        let err = discover(tmp.path(), crate::sql::Dialect::Sqlite).unwrap_err();
        assert!(matches!(err, Error::NotUtf8 { line: 2, .. }), "{err}");
        assert!(
            err.to_string().contains("1_a.up.sql:2 is not valid UTF-8"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        // A dangling symbolic link cannot be read whatever the user's privileges.
        std::os::unix::fs::symlink(tmp.path().join("gone.sql"), tmp.path().join("1_a.up.sql"))
            .unwrap();
        let err = discover(tmp.path(), crate::sql::Dialect::Sqlite).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("1_a.up.sql"), "{err}");
    }
}
