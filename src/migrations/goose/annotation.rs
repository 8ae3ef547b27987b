//! goose annotations: which lines are annotations, and which of the seven each one is.
//!
//! goose takes any `--` comment line that contains `+goose` for an annotation and refuses
//! the file when it is not one of the seven it knows, or when it has leading whitespace;
//! the word after `+goose` is compared without regard to case.

/// One of goose's annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Annotation {
    Up,
    Down,
    StatementBegin,
    StatementEnd,
    NoTransaction,
    EnvsubOn,
    EnvsubOff,
}

const KNOWN: [(&str, Annotation); 7] = [
    ("Up", Annotation::Up),
    ("Down", Annotation::Down),
    ("StatementBegin", Annotation::StatementBegin),
    ("StatementEnd", Annotation::StatementEnd),
    ("NO TRANSACTION", Annotation::NoTransaction),
    ("ENVSUB ON", Annotation::EnvsubOn),
    ("ENVSUB OFF", Annotation::EnvsubOff),
];

/// `None` for a line goose does not take for an annotation; the annotation, or why goose
/// refuses the line, otherwise. `line` has no line break.
pub(super) fn parse(line: &str) -> Option<Result<Annotation, String>> {
    if !line.trim_start().starts_with("--") || find_ci(line, "+goose").is_none() {
        return None;
    }
    if line.starts_with(char::is_whitespace) {
        return Some(Err(
            "a goose annotation with whitespace before it, which goose refuses: start the line with `--`".into(),
        ));
    }
    let without_dashes = line.replace("--", "");
    let at = find_ci(&without_dashes, "+goose").expect("found above");
    let rest = &without_dashes[at + "+goose".len()..];
    if find_ci(rest, "+goose").is_some() {
        return Some(Err("more than one `+goose` on the line".into()));
    }
    let word = format!("{}{}", &without_dashes[..at], rest);
    let word = word.trim();
    Some(
        KNOWN
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|(_, annotation)| *annotation)
            .ok_or_else(|| {
                format!(
                    "`{}` is not a goose annotation; goose knows `-- +goose` Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON and ENVSUB OFF",
                    line.trim()
                )
            }),
    )
}

/// The byte position of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether a line starts like a goose annotation (`-- +goose …`), whatever follows: the
/// marker table's test, which a comment that merely mentions `+goose` does not pass.
pub(in crate::migrations) fn is_annotation(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("--")
        .map(str::trim_start)
        .is_some_and(|rest| rest.len() >= 6 && rest.as_bytes()[..6].eq_ignore_ascii_case(b"+goose"))
}

/// Whether a line is a well-formed `-- +goose Up`: what makes a folder goose's.
pub(in crate::migrations) fn is_up(line: &str) -> bool {
    matches!(parse(line), Some(Ok(Annotation::Up)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_ignore_case_and_inner_spacing_of_the_marker() {
        for (line, expected) in [
            ("-- +goose Up", Annotation::Up),
            ("-- +goose up", Annotation::Up),
            ("--+goose DOWN", Annotation::Down),
            ("-- +goose statementbegin", Annotation::StatementBegin),
            ("-- +goose StatementEnd   ", Annotation::StatementEnd),
            ("-- +goose NO TRANSACTION", Annotation::NoTransaction),
            ("-- +goose envsub on", Annotation::EnvsubOn),
            ("-- +goose ENVSUB OFF", Annotation::EnvsubOff),
        ] {
            assert_eq!(parse(line), Some(Ok(expected)), "{line}");
        }
    }

    #[test]
    fn goose_refuses_what_it_does_not_know() {
        for line in [
            "  -- +goose Up",
            "-- +goose Upp",
            "-- +goose NO  TRANSACTION",
            "-- +goose Up -- +goose Down",
            "-- see +goose docs",
            "-- +goose",
        ] {
            assert!(
                matches!(parse(line), Some(Err(_))),
                "{line}: {:?}",
                parse(line)
            );
        }
    }

    #[test]
    fn other_lines_are_not_annotations() {
        for line in [
            "SELECT '-- +goose Up';",
            "-- a comment",
            "",
            "CREATE TABLE goose (id int);",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }

    #[test]
    fn the_marker_table_test_needs_the_marker_first() {
        assert!(is_annotation("-- +goose Up"));
        assert!(is_annotation("  --+GOOSE whatever"));
        assert!(!is_annotation("-- see +goose docs"));
        assert!(is_up("-- +goose up"));
        assert!(!is_up("  -- +goose Up"));
        assert!(!is_up("-- +goose Down"));
    }
}
