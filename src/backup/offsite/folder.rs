//! A destination that is another folder (a mounted share): a copy is written under a hidden
//! name and renamed into place when complete and flushed, so a copy that is interrupted is
//! never taken for a backup; what is left is swept by the next copy.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::Store;
use crate::backup::stream::private_file;

/// The hidden name a copy is written under until it is complete.
const PARTIAL: &str = ".cutover-partial-copy-";

pub struct Folder(pub PathBuf);

fn text(e: std::io::Error, path: &Path) -> String {
    format!("{}: {e}", path.display())
}

impl Store for Folder {
    fn put(&self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<(), String> {
        std::fs::create_dir_all(&self.0).map_err(|e| text(e, &self.0))?;
        let partial = self
            .0
            .join(format!("{PARTIAL}{}_{name}", crate::scratch::owner()));
        let copied = (|| {
            let mut from = std::fs::File::open(local)?;
            let mut to = private_file(&partial)?;
            let mut buf = vec![0u8; 1 << 20];
            let mut sent = 0u64;
            loop {
                if crate::interrupt::requested() {
                    return Err(crate::interrupt::io_error());
                }
                let n = from.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                to.write_all(&buf[..n])?;
                sent += n as u64;
                progress(sent);
            }
            to.flush()?;
            to.sync_all()?;
            std::fs::rename(&partial, self.0.join(name))
        })();
        if copied.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        copied.map_err(|e| text(e, &self.0.join(name)))
    }

    fn read_into(&self, name: &str, out: &mut dyn Write) -> Result<(), String> {
        let path = self.0.join(name);
        std::fs::File::open(&path)
            .and_then(|mut f| std::io::copy(&mut f, out))
            .map(|_| ())
            .map_err(|e| text(e, &path))
    }

    fn names(&self) -> Result<Vec<String>, String> {
        let entries = match std::fs::read_dir(&self.0) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(text(e, &self.0)),
        };
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect())
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        let path = self.0.join(name);
        std::fs::remove_file(&path).map_err(|e| text(e, &path))
    }
}
