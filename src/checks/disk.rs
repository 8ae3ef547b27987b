//! Disk checks: free space where a path lives.

use super::Seen;
use crate::units::human;

pub(super) fn run(path: &str, min_free: u64) -> Seen {
    match rustix::fs::statvfs(path) {
        Err(e) => Seen::failed(format!("cannot read {path}'s file system: {e}")),
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            Seen::judged(free >= min_free, format!("{} free on {path}", human(free)))
        }
    }
}
