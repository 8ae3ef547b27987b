//! The archive a squash leaves in a migrations folder: the squashed files, moved into a
//! folder of their own (`cutover-squashed/`), and its manifest (`squash.json`) naming the
//! baseline that replaced them and every migration it replaced, with their checksums.
//!
//! The layout readers never read the archived files as migrations: the folder is taken
//! out of the listing before the layout is detected, and reported as known. The manifest
//! is what lets the history tell a database that applied every squashed migration (the
//! baseline counts as applied), a fresh one (it runs only the baseline) and one that
//! stopped part-way through the squashed range (refused, naming where it stopped).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;

/// The archive folder's name, inside the migrations folder.
pub const ARCHIVE: &str = "cutover-squashed";

/// The manifest's name, inside the archive folder.
pub const MANIFEST: &str = "squash.json";

/// A squash, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Squash {
    /// The baseline's id: the id of the last squashed migration, which the baseline's file
    /// takes over, so a database's history keeps one row for that version either way.
    pub baseline: String,
    /// The engine the baseline was dumped from (`postgres`).
    pub engine: String,
    /// UTC, RFC 3339.
    pub created_at: String,
    /// The baseline script's checksum when it was written.
    pub baseline_checksum: String,
    /// Every squashed migration, oldest first (the last one is `baseline`).
    pub migrations: Vec<Squashed>,
    /// The archive folder (not stored).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// One migration a squash replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Squashed {
    pub id: String,
    pub name: String,
    /// Its up script's checksum when it was archived.
    pub checksum: String,
}

impl Squash {
    /// Whether `id` is one of the squashed migrations (the baseline's own id included).
    pub fn covers(&self, id: &str) -> bool {
        self.migrations.iter().any(|m| m.id == id)
    }

    /// Read the manifest of the archive folder `dir`; an error names the file and line.
    pub fn read(dir: &Path) -> Result<Squash, Error> {
        let path = dir.join(MANIFEST);
        let text = super::read_text(&path)?;
        let mut squash: Squash = serde_json::from_str(&text).map_err(|e| Error::Integrity {
            line: Some(e.line()),
            reason: format!("not a squash manifest ({e}); restore it from version control"),
            path: path.clone(),
        })?;
        if squash.migrations.last().map(|m| m.id.as_str()) != Some(squash.baseline.as_str()) {
            return Err(Error::Integrity {
                path,
                line: None,
                reason: format!(
                    "the baseline {} is not the last squashed migration; restore the manifest from version control",
                    squash.baseline
                ),
            });
        }
        squash.dir = dir.to_path_buf();
        Ok(squash)
    }

    /// Write the manifest into the archive folder.
    pub fn write(&self) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        let path = self.dir.join(MANIFEST);
        std::fs::write(&path, format!("{text}\n")).map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> Squash {
        Squash {
            baseline: "2".into(),
            engine: "sqlite".into(),
            created_at: "2026-11-30T02:00:00Z".into(),
            baseline_checksum: "ab".into(),
            migrations: vec![
                Squashed {
                    id: "1".into(),
                    name: "a".into(),
                    checksum: "c1".into(),
                },
                Squashed {
                    id: "2".into(),
                    name: "b".into(),
                    checksum: "c2".into(),
                },
            ],
            dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn a_manifest_round_trips_and_covers_its_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let s = sample(tmp.path());
        s.write().unwrap();
        let back = Squash::read(tmp.path()).unwrap();
        assert_eq!(back, s);
        assert!(back.covers("1") && back.covers("2") && !back.covers("3"));
    }

    #[test]
    fn a_broken_manifest_names_its_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join(MANIFEST),
            "{\n\"baseline\": \"2\",\n\"engine\": 3\n}",
        )
        .unwrap();
        let err = Squash::read(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("squash.json:3"), "{err}");
        let mut s = sample(tmp.path());
        s.baseline = "1".into();
        s.write().unwrap();
        let err = Squash::read(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("not the last squashed"), "{err}");
    }
}
