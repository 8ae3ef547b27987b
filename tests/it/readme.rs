//! The README's examples are true: every ```toml block in README.md is read with the reader
//! cutover uses (`cutover::config::parse`) as the whole `cutover.toml` it shows, or as the
//! `[[checks]]` entry it is when it is a fragment, and `config check` accepts each of its
//! environments, so every check and action it shows is valid as written.

use std::path::Path;

use crate::common::*;

/// The ```toml blocks of a Markdown text, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => open = Some((i + 1, String::new())),
            (Some(_), l) if l.starts_with("```") => blocks.extend(open.take()),
            (Some((_, block)), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(open.is_none(), "README.md: a ```toml block is never closed");
    blocks
}

/// The block as a whole file, or else as one `[[checks]]` entry.
fn as_file(line: usize, block: &str) -> (String, cutover::config::ConfigFile) {
    match cutover::config::parse(block) {
        Ok(file) => (block.to_string(), file),
        Err(whole) => {
            let wrapped = format!("[[checks]]\n{block}");
            match cutover::config::parse(&wrapped) {
                Ok(file) => (wrapped, file),
                Err(fragment) => panic!(
                    "README.md line {line}: the block is neither a cutover.toml ({whole}) \
                     nor a check ({fragment}):\n{block}"
                ),
            }
        }
    }
}

#[test]
fn every_toml_block_in_the_readme_is_accepted() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let blocks = toml_blocks(&std::fs::read_to_string(readme).unwrap());
    assert!(blocks.len() >= 4, "README.md has its examples: {blocks:?}");
    for (line, block) in blocks {
        // A transfer mapping, not a cutover.toml: its TOML and every expression are read.
        if block.contains("[tables") {
            // A fragment of one table (its checks) is read inside a table.
            let whole = if block.contains("[[tables]]") {
                block.clone()
            } else {
                format!("[[tables]]\ntarget = \"t\"\nsource = \"s\"\ncolumns = {{}}\n{block}")
            };
            if let Err(e) = cutover::transfer::mapping::check_text(&whole) {
                panic!("README.md line {line}: the mapping is not valid: {e}\n{block}");
            }
            continue;
        }
        // A clone's mask file: its TOML and every rule are read.
        if block.contains("[columns]") {
            if let Err(e) = cutover::clone::mask::check_text(&block) {
                panic!("README.md line {line}: the mask file is not valid: {e}\n{block}");
            }
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let (text, file) = as_file(line, &block);
        write_files(dir.path(), &[("cutover.toml", &text)]);
        let mut envs: Vec<Option<&String>> = file.environments.keys().map(Some).collect();
        if envs.is_empty() {
            envs.push(None);
        }
        for env in envs {
            let mut cmd = cutover_cmd(dir.path());
            // The variables the examples name, as an operator would set them.
            cmd.env("DATABASE_URL", "sqlite://readme.db").env(
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
            );
            if let Some(env) = env {
                cmd.args(["--env", env]);
            }
            let out = cmd.args(["config", "check"]).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "README.md line {line}, environment {env:?}: {}\n{text}",
                stderr(&out)
            );
        }
        assert!(
            !dir.path().join("readme.db").exists(),
            "config check creates nothing"
        );
    }
}
