//! `${VAR}` in `cutover.toml`: replaced from the process environment in every string
//! setting that is read (URLs, webhooks, headers, commands, bodies, SQL, paths), before the
//! settings are checked. An unset variable is an error naming the setting it is in, so a
//! webhook is never posted to the literal text `${SLACK_WEBHOOK_URL}`. `$${` is a literal
//! `${`, for a shell command that wants its own `${…}`.

use super::ConfigError;

/// Replace `${VAR}` with the variable's value; an unset variable is an error naming
/// `setting`.
pub fn interpolate(text: &str, setting: &str) -> Result<String, ConfigError> {
    let bad = |message: String| ConfigError::Setting {
        setting: setting.into(),
        message,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            // `$${` is an escaped, literal `${`.
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(bad(
                "`${` without a closing `}` (write `$${` for a literal `${`)".into(),
            ));
        };
        let name = &rest[start + 2..start + end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!(
                "`${{{name}}}` is not a variable name (letters, digits and _; write `$${{` for a literal `${{`)"
            )));
        }
        let value = std::env::var(name).map_err(|_| bad(format!("${{{name}}} is not set")))?;
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Interpolate every string in `value`, which is the setting `at`.
pub fn value(value: &mut toml::Value, at: &str) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) => *s = interpolate(s, at)?,
        toml::Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                self::value(v, &format!("{at}[{i}]"))?;
            }
        }
        toml::Value::Table(t) => table(t, at, &|_| true)?,
        _ => {}
    }
    Ok(())
}

/// Interpolate the entries of `t` whose keys `read` accepts; `at` is the table's own name
/// (empty at the top of the file).
pub fn table(
    t: &mut toml::Table,
    at: &str,
    read: &dyn Fn(&str) -> bool,
) -> Result<(), ConfigError> {
    for (k, v) in t.iter_mut().filter(|(k, _)| read(k)) {
        value(v, &key(at, k))?;
    }
    Ok(())
}

/// `at.k`, with `k` quoted when it is not a bare TOML key.
fn key(at: &str, k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let k = if bare {
        k.to_string()
    } else {
        format!("{k:?}")
    };
    if at.is_empty() {
        k
    } else {
        format!("{at}.{k}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_escapes() {
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("CUTOVER_TEST_INTERP", "db1") };
        assert_eq!(
            interpolate("pg://h/${CUTOVER_TEST_INTERP}", "url").unwrap(),
            "pg://h/db1"
        );
        assert_eq!(
            interpolate("echo $${HOME} ${CUTOVER_TEST_INTERP}", "c").unwrap(),
            "echo ${HOME} db1"
        );
        let e = interpolate("${CUTOVER_TEST_UNSET_XYZ}", "environments.prod.url").unwrap_err();
        assert_eq!(
            e.to_string(),
            "environments.prod.url: ${CUTOVER_TEST_UNSET_XYZ} is not set"
        );
        assert!(interpolate("${A-B}", "x").is_err());
        assert!(interpolate("${OPEN", "x").is_err());
    }

    #[test]
    fn every_string_names_its_setting() {
        let mut t: toml::Table = toml::from_str(
            "[prod]\nnotify = [{ on = [\"start\"] }, { webhook = \"${CUTOVER_TEST_UNSET_HOOK}\" }]\n",
        )
        .unwrap();
        let e = table(&mut t, "environments", &|_| true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environments.prod.notify[1].webhook: ${CUTOVER_TEST_UNSET_HOOK} is not set"
        );
        let mut t: toml::Table =
            toml::from_str("headers = { \"X Key\" = \"${CUTOVER_TEST_UNSET_HOOK}\" }").unwrap();
        let e = table(&mut t, "", &|_| true).unwrap_err().to_string();
        assert!(e.starts_with("headers.\"X Key\": "), "{e}");
        let mut t: toml::Table = toml::from_str("url = \"${CUTOVER_TEST_UNSET_HOOK}\"").unwrap();
        table(&mut t, "", &|k| k != "url").unwrap();
    }
}
