//! The HTML reports as people see them: each is opened in headless Chromium (Debian's
//! `chromium`), a screenshot is taken, and the screenshot is asserted on — the verdict's
//! colour is on the page, the timeline's bars are drawn, and the page is not blank. A
//! report that renders as an empty or broken page fails here even when its HTML parses.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// `/usr/bin/chromium`, or a failure that says how to install it.
fn chromium() -> PathBuf {
    let path =
        std::env::var("CUTOVER_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "headless Chromium is needed at {path}: install it with `apt-get install -y chromium` \
         (.ci/run does), or point CUTOVER_TEST_CHROMIUM at one"
    );
    PathBuf::from(path)
}

/// An RGB screenshot of `html`, `width` × `height`.
pub(crate) struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Shot {
    pub(crate) fn of(html: &Path, dir: &Path) -> Shot {
        let png = dir.join("shot.png");
        let profile = tempfile::tempdir().unwrap();
        let out = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1200,1400",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(
            png.exists(),
            "chromium made no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Shot {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    /// How many pixels have exactly this colour.
    pub(crate) fn count(&self, hex: &str) -> usize {
        let c = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
        let want = [(c >> 16) as u8, (c >> 8) as u8, c as u8];
        self.rgb.chunks(3).filter(|p| *p == want).count()
    }

    /// The share of pixels that are not the page's white.
    fn ink(&self) -> f64 {
        let inked = self.rgb.chunks(3).filter(|p| *p != [255, 255, 255]).count();
        inked as f64 / (self.width * self.height) as f64
    }
}

fn deploy_report(kind_policy: &str, extra: &[(&str, &str)], code: i32) -> (TestDb, PathBuf) {
    let db = TestDb::new(Kind::Sqlite);
    let lms = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lms/migrations");
    for f in std::fs::read_dir(lms).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        write_files(
            db.path(),
            &[(
                &format!("migrations/{}", f.file_name().to_string_lossy()),
                &text,
            )],
        );
    }
    write_files(db.path(), extra);
    let config = format!(
        "[environments.test]\nkind = \"test\"\nurl = \"{}\"\nmigrations = \"migrations\"\n{kind_policy}\n",
        db.url
    );
    write_files(db.path(), &[("cutover.toml", &config)]);
    let out = cutover_cmd(db.path())
        .args(["--env", "test", "deploy", "--report-dir", "report"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    let run = std::fs::read_dir(db.path().join("report"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    (db, run.join("report.html"))
}

/// A successful deploy's report: the green verdict, a bar per phase.
#[test]
fn deploy_report_renders() {
    let (db, html) = deploy_report("", &[], 0);
    let shot = Shot::of(&html, db.path());
    assert!(
        shot.ink() > 0.02,
        "the page is nearly blank: {:.3}",
        shot.ink()
    );
    assert!(shot.count("#ecfdf3") > 500, "no green verdict badge");
    assert!(shot.count("#2e90fa") > 50, "no timeline bars");
    assert_eq!(shot.count("#fef3f2"), 0, "a failure colour on a success");
}

/// A deploy that failed and rolled back: the verdict is amber, the failed phase red.
#[test]
fn rolled_back_deploy_report_renders() {
    let (db, html) = deploy_report(
        "",
        &[(
            "migrations/20240105090800_broken.up.sql",
            "INSERT INTO nowhere VALUES (1);\n",
        )],
        11,
    );
    let shot = Shot::of(&html, db.path());
    assert!(shot.count("#fff7e0") > 500, "no amber verdict badge");
    assert!(
        shot.count("#fef3f2") > 100,
        "the failed phase is not marked"
    );
}

/// `validate --report x.html` with a failing expectation: the failure is red on the page.
#[test]
fn validate_report_renders() {
    let db = TestDb::new(Kind::Sqlite);
    let out = db
        .cutover()
        .args([
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    write_files(
        db.path(),
        &[(
            "cutover.toml",
            "[expect]\ntables = [\"students\", \"no_such_table\"]\n",
        )],
    );
    let out = db
        .cutover()
        .args([
            "--migrations",
            lms_migrations().to_str().unwrap(),
            "validate",
            "--report",
            "v.html",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let shot = Shot::of(&db.path().join("v.html"), db.path());
    assert!(shot.ink() > 0.02, "the page is nearly blank");
    assert!(
        shot.count("#fef3f2") > 200,
        "the failing check is not shown red"
    );
}
