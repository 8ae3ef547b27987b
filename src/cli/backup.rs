//! `cutover backup …`: resolve what each subcommand needs (a target, or only the policy),
//! ask for confirmation before a restore, call the library, render.

use std::io::{BufRead, IsTerminal, Write};

use cutover::Error;
use cutover::backup::{self, CreateOptions, PruneOptions, RestoreOptions};
use cutover::config::{Overrides, Settings};

use super::Exit;
use super::args::BackupCommand;
use super::render::Renderer;

pub fn run(cmd: &BackupCommand, o: Overrides, out: &mut Renderer) -> Result<Exit, Error> {
    match cmd {
        BackupCommand::List { dir } => {
            let dir = match dir {
                Some(d) => d.clone(),
                None => Settings::backup_policy(&o)?.0.dir,
            };
            out.backups(&backup::listing(&dir)?, &dir);
            Ok(Exit::Ok)
        }
        BackupCommand::Prune {
            dir,
            keep_days,
            keep,
            dry_run,
        } => {
            let (policy, _) = Settings::backup_policy(&o)?;
            let opts = PruneOptions {
                dir: dir.clone(),
                keep_days: *keep_days,
                keep: *keep,
                dry_run: *dry_run,
            };
            out.pruned(&backup::prune(&policy, &opts)?);
            Ok(Exit::Ok)
        }
        BackupCommand::Verify { file, level } => {
            let (policy, _) = Settings::backup_policy(&o)?;
            let level = level.map(Into::into).unwrap_or(policy.verify);
            let v = if level == backup::VerifyLevel::Checksum {
                backup::verify_checksum(file)?
            } else {
                let settings = target(o, out)?;
                let mut observer = out.observer();
                backup::verify(&settings, file, level, &mut observer)?
            };
            out.verified(file, &v);
            Ok(Exit::Ok)
        }
        BackupCommand::Create {
            dir,
            out: file,
            verify,
        } => {
            let settings = target(o, out)?;
            let opts = CreateOptions {
                dir: dir.clone(),
                out: file.clone(),
                verify: verify.map(Into::into),
                reason: "manual".into(),
            };
            let mut observer = out.observer();
            let created = backup::create(&settings, &opts, &mut observer)?;
            drop(observer);
            out.created_backup(&created);
            Ok(Exit::Ok)
        }
        BackupCommand::Restore {
            file,
            yes,
            no_safety_backup,
        } => {
            let settings = target(o, out)?;
            let confirmed = *yes || confirm(&settings, file)?;
            let opts = RestoreOptions {
                confirmed,
                safety_backup: !no_safety_backup,
            };
            let mut observer = out.observer();
            let restored = backup::restore(&settings, file, &opts, &mut observer)?;
            drop(observer);
            out.restored(&restored);
            Ok(Exit::Ok)
        }
    }
}

fn target(o: Overrides, out: &mut Renderer) -> Result<Settings, Error> {
    let settings = Settings::resolve(o)?;
    out.add_secret_source(settings.url.clone());
    Ok(settings)
}

/// On a terminal, ask for the database's name; without one, say no (the library then
/// refuses and says to pass --yes).
fn confirm(settings: &Settings, file: &std::path::Path) -> Result<bool, Error> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Ok(false);
    }
    let m = backup::manifest::read(file)?;
    let name = m.database.clone();
    eprint!(
        "This replaces everything in {} with {} (taken {}, migration {}).\nType the database name ({name}) to go on: ",
        settings.url,
        file.display(),
        m.created_at,
        m.migration.as_deref().unwrap_or("none")
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| Error::Io {
            path: "stdin".into(),
            source,
        })?;
    Ok(answer.trim() == name)
}
