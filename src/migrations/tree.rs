//! The migrations directory as the layout readers see it: its files and folders, listed
//! two levels deep in name order (so that results and errors are deterministic), the file
//! contents read during detection, and the name rules layouts share.
//!
//! Only regular files (and symbolic links to them) and folders are listed: a FIFO, socket
//! or device is an error naming it, since opening a FIFO would wait forever.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::layout::{Ignored, Layout};
use super::{Error, Migration, read_text};

/// What the readers collect.
#[derive(Default)]
pub(super) struct Found {
    pub migrations: Vec<Migration>,
    pub ignored: Vec<Ignored>,
}

impl Found {
    pub fn ignore(&mut self, path: &Path, reason: impl Into<String>) {
        self.ignored.push(Ignored {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }
}

/// A file or folder, by name and path.
pub(super) struct Entry {
    pub name: String,
    pub path: PathBuf,
}

impl Entry {
    pub fn is_hidden(&self) -> bool {
        self.name.starts_with('.')
    }

    /// `.sql` in any case, so that `X.SQL` is reported as misnamed rather than skipped.
    pub fn is_sql(&self) -> bool {
        let name = self.name.as_bytes();
        name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".sql")
    }
}

/// A sub-folder and its direct content.
pub(super) struct SubDir {
    pub entry: Entry,
    pub files: Vec<Entry>,
    pub dirs: Vec<Entry>,
}

impl SubDir {
    pub fn file(&self, name: &str) -> Option<&Entry> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// The migrations directory, listed two levels deep (hidden folders are not entered).
pub(super) struct Tree {
    pub dir: PathBuf,
    pub files: Vec<Entry>,
    pub dirs: Vec<SubDir>,
    hidden_dirs: Vec<Entry>,
}

impl Tree {
    pub(super) fn scan(dir: &Path) -> Result<Tree, Error> {
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(Error::MissingDir { dir: dir.into() }),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::MissingDir { dir: dir.into() });
            }
            Err(e) => return Err(Error::io(dir, e)),
        }
        let (files, dirs) = list(dir)?;
        let (hidden_dirs, dirs): (Vec<Entry>, Vec<Entry>) =
            dirs.into_iter().partition(Entry::is_hidden);
        let dirs = dirs
            .into_iter()
            .map(|entry| {
                let (files, dirs) = list(&entry.path)?;
                Ok(SubDir { entry, files, dirs })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Tree {
            dir: dir.to_path_buf(),
            files,
            dirs,
            hidden_dirs,
        })
    }

    /// Take the archive folder of a squash out of the listing, so no reader takes its
    /// files for migrations, and read its manifest.
    pub(super) fn take_archive(&mut self) -> Result<Option<super::squashed::Squash>, Error> {
        let Some(at) = self
            .dirs
            .iter()
            .position(|d| d.entry.name == super::squashed::ARCHIVE)
        else {
            return Ok(None);
        };
        let sub = self.dirs.remove(at);
        super::squashed::Squash::read(&sub.entry.path).map(Some)
    }

    /// Drop top-level entries that match none of `include`; returns them.
    pub(super) fn keep_only(&mut self, include: &[glob::Pattern]) -> Vec<Entry> {
        if include.is_empty() {
            return Vec::new();
        }
        let wanted = |name: &str| include.iter().any(|p| p.matches(name));
        let (files, mut excluded): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|e| wanted(&e.name));
        self.files = files;
        let (dirs, other): (Vec<SubDir>, Vec<SubDir>) = std::mem::take(&mut self.dirs)
            .into_iter()
            .partition(|d| wanted(&d.entry.name));
        self.dirs = dirs;
        excluded.extend(other.into_iter().map(|d| d.entry));
        excluded
    }

    /// Flat layouts read only the top level, so their sub-folders are reported as unread.
    pub(super) fn ignore_folders(&self, layout: Layout, found: &mut Found) {
        for sub in &self.dirs {
            let reason = format!(
                "folder: the {layout} layout reads only the files directly in {}",
                self.dir.display()
            );
            found.ignore(&sub.entry.path, reason);
        }
    }

    pub(super) fn ignore_hidden(&self, found: &mut Found) {
        for entry in &self.hidden_dirs {
            found.ignore(&entry.path, "hidden folder");
        }
    }

    /// Top-level `.sql` files that are not hidden.
    pub fn sql_files(&self) -> impl Iterator<Item = &Entry> {
        self.files.iter().filter(|f| f.is_sql() && !f.is_hidden())
    }
}

/// Lists a directory's files and folders, each sorted by name. Symbolic links count as
/// what they point to; a dangling one is listed as a file, so that reading it names it.
/// Anything else that is not hidden (a FIFO, a socket, a device) is an error naming it.
fn list(dir: &Path) -> Result<(Vec<Entry>, Vec<Entry>), Error> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let item = item.map_err(|e| Error::io(dir, e))?;
        let path = item.path();
        let name = (item.file_name().into_string())
            .map_err(|_| Error::NotUtf8Name { path: path.clone() })?;
        // The directory entry's type costs no system call; only links need following.
        let mut kind = item.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_symlink()
            && let Ok(target) = fs::metadata(&path)
        {
            kind = target.file_type();
        }
        let entry = Entry { name, path };
        if kind.is_dir() {
            dirs.push(entry)
        } else if kind.is_file() || kind.is_symlink() || entry.is_hidden() {
            files.push(entry)
        } else {
            return Err(Error::NotAFile {
                path: entry.path,
                kind: kind_of(&kind),
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    dirs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((files, dirs))
}

/// What a file type that is neither a regular file nor a folder is, for messages.
pub(super) fn kind_of(kind: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        } else if kind.is_socket() {
            return "a socket";
        } else if kind.is_block_device() {
            return "a block device";
        } else if kind.is_char_device() {
            return "a character device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// File contents read during detection, kept so that each file is read once.
#[derive(Default)]
pub(super) struct Texts(HashMap<PathBuf, String>);

impl Texts {
    pub(super) fn get(&mut self, path: &Path) -> Result<&str, Error> {
        if !self.0.contains_key(path) {
            let text = read_text(path)?;
            self.0.insert(path.to_path_buf(), text);
        }
        Ok(&self.0[path])
    }

    /// The text of `path`, from the cache or the disk.
    pub fn take(&mut self, path: &Path) -> Result<String, Error> {
        match self.0.remove(path) {
            Some(text) => Ok(text),
            None => read_text(path),
        }
    }
}

/// Splits `<version>_<name>` at the first `_`; both parts non-empty.
pub(super) fn split_version(stem: &str) -> Option<(&str, &str)> {
    stem.split_once('_')
        .filter(|(version, name)| !version.is_empty() && !name.is_empty())
}

/// `<version>_<name>` where the version is digits, or a Laravel-style timestamp
/// `YYYY_MM_DD_HHMMSS_<name>`, whose four groups make one version (`2025_10_01_060100` is
/// `20251001060100`, as Laravel orders its files, not version `2025`).
pub(super) fn numbered(stem: &str) -> Option<(String, &str)> {
    if let Some((version, name)) = laravel(stem) {
        return Some((version, name));
    }
    let (version, name) = split_version(stem)?;
    is_digits(version).then(|| (version.to_string(), name))
}

/// A Laravel timestamp prefix: groups of 4, 2, 2 and 6 digits, each followed by `_`.
fn laravel(stem: &str) -> Option<(String, &str)> {
    let mut version = String::with_capacity(14);
    let mut rest = stem;
    for width in [4, 2, 2, 6] {
        let group = rest.get(..width).filter(|g| is_digits(g))?;
        rest = rest[width..].strip_prefix('_')?;
        version.push_str(group);
    }
    (!rest.is_empty()).then_some((version, rest))
}

/// Non-empty and ASCII digits only.
pub(super) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Non-hidden files other than `.sql` are listed as ignored; returns the `.sql` ones.
pub(super) fn sql_only<'a>(files: &'a [Entry], found: &mut Found) -> Vec<&'a Entry> {
    let mut sql = Vec::new();
    for file in files {
        if file.is_hidden() {
            found.ignore(&file.path, "hidden file");
        } else if file.is_sql() {
            sql.push(file);
        } else {
            found.ignore(&file.path, "not a .sql file");
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laravel_timestamps_are_one_version() {
        assert_eq!(
            numbered("2025_10_01_060100_create_users"),
            Some(("20251001060100".to_string(), "create_users"))
        );
        assert_eq!(
            numbered("20251001060100_create_users"),
            Some(("20251001060100".to_string(), "create_users"))
        );
        // Not the Laravel shape: the first group is the version, as before.
        assert_eq!(numbered("2025_10_x"), Some(("2025".to_string(), "10_x")));
        assert_eq!(
            numbered("2025_10_01_0601_x"),
            Some(("2025".to_string(), "10_01_0601_x"))
        );
        assert_eq!(
            numbered("2025_10_01_060100_"),
            Some(("2025".to_string(), "10_01_060100_"))
        );
        assert_eq!(numbered("v1_x"), None);
    }
}
