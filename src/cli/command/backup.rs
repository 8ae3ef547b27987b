//! `cutover backup …`: resolve what each subcommand needs (a target, or only the policy),
//! call the library, render. A restore is a governed run (`governed.rs`).

use cutover::Error;
use cutover::backup::{self, CreateOptions, PruneOptions};
use cutover::config::{Overrides, Settings};
use cutover::deploy::Work;

use super::governed;
use crate::cli::Exit;
use crate::cli::args::BackupCommand;
use crate::cli::render::Renderer;

pub fn run(cmd: &BackupCommand, o: Overrides, out: &mut Renderer) -> Result<Exit, Error> {
    match cmd {
        BackupCommand::List { dir, copies } => {
            let policy = match (dir, copies) {
                (Some(_), false) => None,
                _ => Some(Settings::backup_policy(&o)?.0),
            };
            let dir = match (dir, &policy) {
                (Some(d), _) => d.clone(),
                (None, Some(p)) => p.dir.clone(),
                (None, None) => unreachable!("a policy is read when no folder is given"),
            };
            let listing = backup::listing(&dir)?;
            match policy.filter(|_| *copies) {
                Some(p) => out.backup_copies(&listing, &backup::offsite::at_destinations(&p)),
                None => out.backups(&listing, &dir),
            }
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
            let level = policy.verify_level(level.map(Into::into));
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
            no_safety_backup,
            flags,
        } => {
            let settings = target(o, out)?;
            let work = Work::Restore {
                file: file.clone(),
                safety_backup: !no_safety_backup,
            };
            governed::governed(&settings, work, flags, out)
        }
    }
}

fn target(o: Overrides, out: &mut Renderer) -> Result<Settings, Error> {
    let settings = Settings::resolve(o)?;
    out.add_secret_source(settings.url.clone());
    Ok(settings)
}
