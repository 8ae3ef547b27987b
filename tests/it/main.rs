//! The integration suite as one test binary, so it links once: each module is one area of
//! cutover exercised through the real binary against real engines (see `common`).

#[macro_use]
mod common;

mod adopt;
mod app;
mod backfill;
mod backup;
mod backup_copies;
mod backup_encrypt;
mod backup_folder;
mod backup_restore;
mod browser;
mod checks;
mod cli;
mod clone;
mod corpora;
mod create_database;
mod deploy;
mod discover_corpora;
mod fingerprint_corpora;
mod fleet;
mod formats;
mod guarded;
mod kills;
mod layouts;
mod lint;
mod lint_corpora;
mod messages;
mod migrate;
mod one_transaction;
mod policy;
mod readme;
mod rehearse;
mod replay;
mod safety;
mod scratch;
mod secrets;
mod split_corpora;
mod squash;
mod staged;
mod tls;
mod transfer;
mod undo;
mod validate;
