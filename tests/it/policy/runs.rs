//! Deploy plans and `--to`, dry runs, notifications, I/O errors, the journal, and what a
//! run shows while it works.

use super::*;
