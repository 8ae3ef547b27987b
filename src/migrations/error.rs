//! Errors from reading a migrations directory. Each message names the file(s) involved (and
//! the line, for directives) and says what to do about it.

use std::path::PathBuf;

use super::Layout;

/// Why a migrations directory could not be read. Nothing is returned when any file fails.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory does not exist or is not a directory.
    #[error(
        "migrations directory {} does not exist or is not a directory: run `cutover init` to create it, or pass `--migrations DIR`",
        dir.display()
    )]
    MissingDir { dir: PathBuf },

    /// A file or directory could not be read.
    #[error("cannot read {}: {source}; check that it exists and is readable", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file's content is not UTF-8.
    #[error("{}:{line} is not valid UTF-8: re-save the file as UTF-8", path.display())]
    NotUtf8 {
        path: PathBuf,
        /// The line of the first invalid byte.
        line: usize,
    },

    /// A file or folder name is not UTF-8, so it cannot be matched against a layout.
    #[error("the name of {} is not valid UTF-8: rename it", path.display())]
    NotUtf8Name { path: PathBuf },

    /// A `.sql` file (or a folder) that the detected layout has no place for.
    #[error(
        "{} does not fit the {layout} layout found in {}: expected {expected}; rename it, or move it out of the migrations directory",
        path.display(),
        dir.display()
    )]
    UnexpectedFile {
        path: PathBuf,
        dir: PathBuf,
        layout: Layout,
        /// The names the layout accepts.
        expected: &'static str,
    },

    /// A migration kind of a foreign tool that cutover does not run.
    #[error("{}: {what} are not supported; {hint}", path.display())]
    Unsupported {
        path: PathBuf,
        what: &'static str,
        hint: &'static str,
    },

    /// One directory holds migrations of two layouts.
    #[error(
        "{} mixes two migration layouts: {first_layout} (e.g. {}) and {second_layout} (e.g. {}); keep one layout per directory",
        dir.display(),
        first.display(),
        second.display()
    )]
    MixedLayouts {
        dir: PathBuf,
        first_layout: Layout,
        first: PathBuf,
        second_layout: Layout,
        second: PathBuf,
    },

    /// Two scripts claim the same version (and direction).
    #[error(
        "more than one {direction} script for version {version}: {}; give each migration its own version, or delete the extra file",
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
    )]
    DuplicateVersion {
        version: String,
        /// `"up"` or `"down"`.
        direction: &'static str,
        paths: Vec<PathBuf>,
    },

    /// A down script whose up script is missing.
    #[error(
        "{} is a down script without an up script: add the up script, or delete it",
        path.display()
    )]
    DownWithoutUp { path: PathBuf },

    /// A `-- cutover:<word>` directive that does not exist.
    #[error(
        "{}:{line}: unknown directive `-- cutover:{directive}`; the known ones are {known}: fix its spelling or remove it",
        path.display()
    )]
    UnknownDirective {
        path: PathBuf,
        line: usize,
        directive: String,
        known: &'static str,
    },

    /// A known directive with bad arguments.
    #[error("{}:{line}: `-- cutover:{directive}`: {reason}", path.display())]
    InvalidDirective {
        path: PathBuf,
        line: usize,
        directive: String,
        reason: String,
    },

    /// A directive below the leading comment block, where it would have no effect.
    #[error(
        "{}:{line}: `-- cutover:{directive}` is not in the comment block at the start of the script, so it would be ignored; move it above the first statement (in dbmate files, right below the `-- migrate:up`/`-- migrate:down` line)",
        path.display()
    )]
    MisplacedDirective {
        path: PathBuf,
        line: usize,
        directive: String,
    },

    /// A line that is another tool's marker where cutover does not do what that tool does
    /// with it (see `KNOWN_MARKERS`).
    #[error("{}:{line}: `{text}` is a marker of {tool}; {hint}", path.display())]
    ForeignMarker {
        path: PathBuf,
        line: usize,
        /// The line as written.
        text: String,
        tool: &'static str,
        hint: String,
    },

    /// An entry of the migrations folder that is neither a regular file nor a folder
    /// (symbolic links count as what they point to): reading a FIFO would wait forever.
    #[error(
        "{} is {kind}, not a regular file: cutover reads only regular files; move it out of the migrations folder",
        path.display()
    )]
    NotAFile { path: PathBuf, kind: &'static str },

    /// A migration folder whose integrity file (Atlas's `atlas.sum`) does not match it.
    #[error("{}: {reason}", at(path, *line))]
    Integrity {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },

    /// A file whose sections or structure are malformed (dbmate, goose, Liquibase, sqitch).
    #[error("{}:{line}: {reason}", path.display())]
    BadSections {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// `path` or `path:line`, for messages.
fn at(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
