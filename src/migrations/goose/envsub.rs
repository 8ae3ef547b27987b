//! goose's `${VAR}` substitution (`-- +goose ENVSUB ON`), from the process environment.
//!
//! goose uses `github.com/mfridman/interpolate`; this follows it, so that a file gives the
//! same SQL under both tools:
//! - `$NAME` and `${NAME}`: the value, or nothing when `NAME` is unset (goose does not
//!   complain about an unset variable);
//! - `${NAME:-word}`: `word` when `NAME` is unset or empty; `${NAME-word}`: only when unset;
//! - `${NAME?message}`: an error with `message` when `NAME` is unset; `${NAME:?message}`
//!   also when it is empty;
//! - `${NAME:offset}` and `${NAME:offset:length}`: a part of the value;
//! - `\$` is a `$`; `$$` (a PostgreSQL dollar quote) and `$(` stay as they are.
//!
//! A `$` followed by anything else (`$1`, a space) is kept, where interpolate would fail:
//! no file goose accepts reads differently, and positional parameters in function bodies
//! stay usable. Names start with a letter, then letters, digits and `_`.
//!
//! Hand-written: the Rust crates for this (`shellexpand`, `envsubst`) do not have goose's
//! `-`/`?` operators, its unset-is-empty rule or its `$$` rule, and one small recursive
//! parser is shorter than adapting one.

/// Where variables are looked up: the process environment, or a map in tests.
pub(super) trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub(super) struct Process;

impl Env for Process {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// `line` with its variables substituted, or why it cannot be.
pub(super) fn substitute(line: &str, env: &dyn Env) -> Result<String, String> {
    let mut parser = Parser {
        chars: line.chars().collect(),
        pos: 0,
        env,
    };
    parser.expression(None)
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn Env,
}

impl Parser<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Text and expansions up to `stop` (not consumed) or the end.
    fn expression(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.peek(0) {
            if Some(c) == stop {
                break;
            }
            match (c, self.peek(1)) {
                ('\\', Some('$')) => {
                    out.push('$');
                    self.pos += 2;
                }
                ('\\', Some('\\')) => {
                    out.push_str("\\\\");
                    self.pos += 2;
                }
                ('$', Some('$' | '(')) => {
                    out.push('$');
                    out.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                ('$', Some('{')) => {
                    self.pos += 2;
                    out.push_str(&self.braced()?);
                }
                ('$', Some(n)) if n.is_alphabetic() => {
                    self.pos += 1;
                    let name = self.name();
                    out.push_str(&self.env.get(&name).unwrap_or_default());
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// After `${`: the expansion up to and including its `}`.
    fn braced(&mut self) -> Result<String, String> {
        if !self.peek(0).is_some_and(char::is_alphabetic) {
            return Err(
                "`${` must be followed by a variable name that starts with a letter".into(),
            );
        }
        let name = self.name();
        let value = self.env.get(&name);
        let result = match (self.peek(0), self.peek(1)) {
            (Some('}'), _) => {
                self.pos += 1;
                return Ok(value.unwrap_or_default());
            }
            (Some(':'), Some('-')) => {
                self.pos += 2;
                let word = self.expression(Some('}'))?;
                value.filter(|v| !v.is_empty()).unwrap_or(word)
            }
            (Some('-'), _) => {
                self.pos += 1;
                let word = self.expression(Some('}'))?;
                value.unwrap_or(word)
            }
            (Some(':'), Some('?')) => {
                self.pos += 2;
                let message = self.expression(Some('}'))?;
                required(&name, value.filter(|v| !v.is_empty()), &message)?
            }
            (Some('?'), _) => {
                self.pos += 1;
                let message = self.expression(Some('}'))?;
                required(&name, value, &message)?
            }
            (Some(':'), _) => {
                self.pos += 1;
                self.substring(value.unwrap_or_default())?
            }
            _ => {
                return Err(format!(
                    "`${{{name}` must be followed by `}}`, `:-`, `-`, `?`, `:?` or `:offset`"
                ));
            }
        };
        if self.peek(0) != Some('}') {
            return Err(format!("`${{{name}…` is not closed by `}}`"));
        }
        self.pos += 1;
        Ok(result)
    }

    /// After `${NAME:`: `offset` or `offset:length` (either may be negative), then `}`.
    fn substring(&mut self, value: String) -> Result<String, String> {
        let offset = self.number(&[':', '}'])?;
        let length = if self.peek(0) == Some(':') {
            self.pos += 1;
            Some(self.number(&['}'])?)
        } else {
            None
        };
        let chars: Vec<char> = value.chars().collect();
        let len = chars.len() as i64;
        let start = if offset < 0 {
            (len + offset).max(0)
        } else {
            offset
        };
        if start >= len {
            return Ok(String::new());
        }
        let rest = &chars[start as usize..];
        let end = match length {
            None => rest.len() as i64,
            Some(l) if l < 0 => rest.len() as i64 + l,
            Some(l) => l.min(rest.len() as i64),
        };
        Ok(rest[..end.max(0) as usize].iter().collect())
    }

    fn number(&mut self, until: &[char]) -> Result<i64, String> {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| !until.contains(&c)) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.trim().parse().map_err(|_| {
            format!("`{text}` is not a number in a `${{NAME:offset:length}}` expansion")
        })
    }
}

fn required(name: &str, value: Option<String>, message: &str) -> Result<String, String> {
    value.ok_or_else(|| {
        let message = if message.is_empty() {
            "not set"
        } else {
            message
        };
        format!("${name}: {message}")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Map(HashMap<&'static str, &'static str>);

    impl Env for Map {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn env() -> Map {
        Map(HashMap::from([
            ("REGION", "us_east_"),
            ("NAME", "foo"),
            ("EMPTY", ""),
            ("COMMIT", "1adf998e39f647b4b25842f107c6ed9d30a3a7c7"),
        ]))
    }

    fn sub(line: &str) -> Result<String, String> {
        substitute(line, &env())
    }

    #[test]
    fn values_defaults_and_unset_variables_as_goose_reads_them() {
        for (line, expected) in [
            (
                "CREATE TABLE ${REGION}post (",
                "CREATE TABLE us_east_post (",
            ),
            ("\t$NAME text,", "\tfoo text,"),
            ("\t${NAME}title3 text,", "\tfootitle3 text,"),
            (
                "\t${ANOTHER_VAR:-default}title4 text,",
                "\tdefaulttitle4 text,",
            ),
            ("\t${EMPTY-default}title5 text,", "\ttitle5 text,"),
            ("\t${EMPTY:-default}x", "\tdefaultx"),
            ("[${UNSET}] [$UNSET]", "[] []"),
            ("${UNSET:-${NAME:-x}}", "foo"),
            ("${UNSET:-a ${NAME} b}", "a foo b"),
        ] {
            assert_eq!(sub(line).as_deref(), Ok(expected), "{line}");
        }
    }

    #[test]
    fn dollar_quotes_and_escapes_stay() {
        for (line, expected) in [
            ("RETURNS void AS $$", "RETURNS void AS $$"),
            ("$$ LANGUAGE plpgsql;", "$$ LANGUAGE plpgsql;"),
            ("RAISE NOTICE '\\$NAME';", "RAISE NOTICE '$NAME';"),
            (
                "SELECT $1, $(x), 'a\\\\b', $",
                "SELECT $1, $(x), 'a\\\\b', $",
            ),
        ] {
            assert_eq!(sub(line).as_deref(), Ok(expected), "{line}");
        }
    }

    #[test]
    fn required_variables_fail_with_their_message() {
        assert_eq!(
            sub("${REQUIRED?set it}"),
            Err("$REQUIRED: set it".to_string())
        );
        assert_eq!(sub("${REQUIRED?}"), Err("$REQUIRED: not set".to_string()));
        assert_eq!(sub("${EMPTY?}").as_deref(), Ok(""));
        assert!(sub("${EMPTY:?must not be empty}").is_err());
        assert_eq!(sub("${NAME:?x}").as_deref(), Ok("foo"));
    }

    #[test]
    fn substrings() {
        for (line, expected) in [
            ("${COMMIT:0:7}", "1adf998"),
            ("${COMMIT:7:7}", "e39f647"),
            ("${COMMIT: -7}", "0a3a7c7"),
            (
                "${COMMIT: -128}",
                "1adf998e39f647b4b25842f107c6ed9d30a3a7c7",
            ),
            ("${COMMIT:128}", ""),
            ("${COMMIT:7:-7}", "e39f647b4b25842f107c6ed9d3"),
            ("${COMMIT:0:-128}", ""),
            ("${UNSET:0:7}", ""),
        ] {
            assert_eq!(sub(line).as_deref(), Ok(expected), "{line}");
        }
    }

    #[test]
    fn malformed_expansions_are_errors() {
        for line in ["${1}", "${}", "${NAME", "${NAME!}", "${NAME:x}"] {
            assert!(sub(line).is_err(), "{line}: {:?}", sub(line));
        }
    }
}
