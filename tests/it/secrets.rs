//! Secrets stay secret: passwords in database URLs (raw `@`, `?password=`, URLs that do not
//! parse) never reach output, command lines other users can read (`ps`), or files left on
//! disk when a backup is killed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::backup::{bulk, lms, wait_for};
use crate::common::*;

/// A MariaDB user with a password, dropped when the test ends.
struct MyUser {
    db: Box<dyn cutover::engine::Engine>,
    name: String,
}

impl MyUser {
    fn new(db: &TestDb, password: &str) -> MyUser {
        let name = format!("cutover_pw_{}", &db.name[db.name.len() - 6..]);
        let mut c = db.connect();
        c.execute(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{}'",
            password.replace('\'', "''")
        ))
        .unwrap();
        c.execute(&format!("GRANT ALL ON *.* TO '{name}'@'%'"))
            .unwrap();
        MyUser { db: c, name }
    }

    /// The test database's URL with this user and `encoded` as its password.
    fn url(&self, db: &TestDb, encoded: &str) -> String {
        db.url
            .replacen("root@", &format!("{}:{encoded}@", self.name), 1)
    }
}

impl Drop for MyUser {
    fn drop(&mut self) {
        let _ = self
            .db
            .execute(&format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

fn with_url(db: &TestDb, url: &str, args: &[&str]) -> std::process::Output {
    cutover_cmd(db.path())
        .arg("--url")
        .arg(url)
        .args(args)
        .output()
        .unwrap()
}

/// Every file under `dir` (recursively) whose bytes contain `secret`.
fn files_holding(dir: &Path, secret: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(p);
            } else if meta.is_file()
                && let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
            {
                found.push(p);
            }
        }
    }
    found
}

/// A password with a raw `@` (`u:Abc@Secret99@host`) is hidden whole, on the terminal and
/// in `--json`; a URL that does not parse names none of its password either.
#[test]
fn raw_at_in_password_never_printed() {
    let db = TestDb::new(Kind::MySql);
    lms(&db);
    let user = MyUser::new(&db, "Abc@Secret99");
    // The password as written, `@` unencoded: the driver reads it to the last `@`, so the
    // login works, and `config check`, `status` and `backup create` print the URL.
    let url = user.url(&db, "Abc@Secret99");
    let dir = db.path().join("b");
    let mut all = String::new();
    for args in [
        &["config", "check"][..],
        &["--json", "config", "check"],
        &["--migrations", lms_migrations().to_str().unwrap(), "status"],
        &["backup", "create", "--dir", dir.to_str().unwrap()],
    ] {
        let out = with_url(&db, &url, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        all.push_str(&stdout(&out));
        all.push_str(&stderr(&out));
    }
    // A wrong password with a raw `@`: the connection error names the URL.
    let migrations = lms_migrations();
    let status = ["--migrations", migrations.to_str().unwrap(), "status"];
    let out = with_url(&db, &user.url(&db, "Abc@Wrong77"), &status);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    all.push_str(&stderr(&out));
    assert!(all.contains(":***@127.0.0.1"), "{all}");
    for part in ["Secret99", "Wrong77"] {
        assert!(!all.contains(part), "{part} was printed: {all}");
    }
    assert!(files_holding(db.path(), "Secret99").is_empty());

    // Does not parse: a raw `/` and `#` in the password cut the authority short.
    let bad = db.url.replacen("root@", "u:p@ss:w/rd%#?x@", 1);
    let out = with_url(&db, &bad, &status);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid database URL `mysql://u:***@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("ss:w") && !err.contains("rd%"), "{err}");
}

/// A tool folder of wrappers that log each call's arguments (what `ps` shows) and whether
/// `PGPASSWORD` was set, then run the real tool.
fn logging_wrappers(dir: &Path, log: &Path) -> PathBuf {
    let wrappers = dir.join("wrappers");
    std::fs::create_dir_all(&wrappers).unwrap();
    for tool in ["pg_dump", "pg_restore", "psql"] {
        let real = ["/usr/bin", "/usr/lib/postgresql/15/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} is not installed"));
        let script = format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"{tool}\" \"$*\" >> '{log}'\n\
             [ -n \"$PGPASSWORD\" ] && printf '%s PGPASSWORD=%s\\n' \"{tool}\" \"$PGPASSWORD\" >> '{log}.env'\n\
             exec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display()
        );
        let path = wrappers.join(tool);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    wrappers
}

/// PostgreSQL with `?password=`: pg_dump, pg_restore and psql get it through PGPASSWORD
/// and never on their command lines, for a backup, its restore check and a restore.
#[test]
fn postgres_query_password_stays_off_command_lines() {
    let db = TestDb::new(Kind::Postgres);
    lms(&db);
    let secret = "QueryPw777";
    let log = db.path().join("calls.log");
    logging_wrappers(db.path(), &log);
    // Trust authentication ignores the password, so any will do.
    let config = format!(
        "[environments.t]\nurl = \"{}&password={secret}\"\n[environments.t.backup]\ntools = \"wrappers\"\ndir = \"b\"\n",
        db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
    let env = |args: &[&str]| {
        let out = cutover_cmd(db.path())
            .args(["--env", "t"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        format!("{}{}", stdout(&out), stderr(&out))
    };
    let mut all = env(&["--json", "backup", "create", "--verify", "restore"]);
    let file = std::fs::read_dir(db.path().join("b"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".zst"))
        .unwrap();
    all += &env(&[
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--yes",
        "--no-safety-backup",
    ]);
    assert!(!all.contains(secret), "{all}");
    let calls = std::fs::read_to_string(&log).unwrap();
    for tool in ["pg_dump --format", "pg_restore --exit-on-error", "psql -X"] {
        assert!(calls.contains(tool), "{tool} never ran: {calls}");
    }
    assert!(
        !calls.contains(secret),
        "a command line held the password:\n{calls}"
    );
    let envs = std::fs::read_to_string(format!("{}.env", log.display())).unwrap_or_default();
    for tool in ["pg_dump", "pg_restore", "psql"] {
        assert!(
            envs.contains(&format!("{tool} PGPASSWORD={secret}")),
            "{tool} did not get PGPASSWORD: {envs}"
        );
    }
}

/// The processes `parent` started, with their command names.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after its `)`.
        let Some((head, tail)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map_or("", |(_, c)| c).to_string();
        let ppid = tail.split(' ').nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(parent) {
            out.push((pid, comm));
        }
    }
    out
}

/// MariaDB backups killed (SIGKILL, then SIGTERM) while mariadb-dump runs leave the
/// password in no file: not in the temporary folder, not beside the backups.
#[test]
fn mariadb_killed_backup_leaves_no_password_on_disk() {
    let db = TestDb::new(Kind::MySql);
    lms(&db);
    bulk(&db, 200_000);
    let secret = "Kill3dPw_Secret";
    let user = MyUser::new(&db, secret);
    let url = user.url(&db, secret);
    let tmp = db.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    for signal in ["KILL", "TERM"] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("cutover"))
            .current_dir(db.path())
            .env("TMPDIR", &tmp)
            .args(["--url", &url, "backup", "create", "--dir", "b"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("mariadb-dump to start", || {
            children_of(child.id())
                .iter()
                .any(|(_, c)| c.starts_with("mariadb-dump") || c.starts_with("mysqldump"))
        });
        std::thread::sleep(Duration::from_millis(100));
        let dumps = children_of(child.id());
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        child.wait().unwrap();
        // The dump tool dies with its parent.
        wait_for("the dump tool to exit", || {
            dumps
                .iter()
                .all(|(pid, _)| !Path::new(&format!("/proc/{pid}")).exists())
        });
        let left = files_holding(db.path(), secret);
        assert!(left.is_empty(), "SIG{signal} left the password in {left:?}");
    }
}
/// A password in the URL reaches no output, manifest or option file left behind.
#[test]
fn no_password_anywhere() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let db = TestDb::new(kind);
        lms(&db);
        let secret = "s3cret-pw_42";
        let user = (kind == Kind::MySql).then(|| MyUser::new(&db, secret));
        let url = match &user {
            Some(user) => user.url(&db, secret),
            // Trust authentication ignores the password, so any will do.
            None => db
                .url
                .replacen("postgres@", &format!("postgres:{secret}@"), 1),
        };
        let dir = db.path().join("b");
        let mut all = String::new();
        for args in [
            vec![
                "backup",
                "create",
                "--dir",
                dir.to_str().unwrap(),
                "--verify",
                "restore",
            ],
            vec!["--json", "backup", "list", "--dir", dir.to_str().unwrap()],
        ] {
            let out = cutover_cmd(db.path())
                .arg("--url")
                .arg(&url)
                .args(&args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{kind:?} {args:?}: {}", stderr(&out));
            all.push_str(&stdout(&out));
            all.push_str(&stderr(&out));
        }
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
        assert!(!all.contains(secret), "{kind:?}: {all}");
        assert!(all.contains("\"database\""), "the manifest was read");
    }
}
