//! Secrets in the URLs, headers and commands of checks and deploy actions, hidden before
//! anything is shown: `config check`, the console, journals, reports, notifications and
//! errors all get text that went through here.
//!
//! Two ways, used together. By shape: a URL's userinfo password, the values of secret query
//! keys ([`SECRET_QUERY_KEYS`]), the values of secret headers, the token after `Bearer`, and
//! everything after the host of a webhook URL (a Slack webhook URL is a secret as a whole).
//! By value: [`Secrets`] collects the secret values a check or action was configured with,
//! so that an echo of them (a server's answer, an HTTP library's error with the URL in
//! another form) is masked too.
//!
//! Written by hand: finding URLs and header-like pairs in free text is a small scanner, and
//! the rules are ours (which keys count as secret), not a general URL library's.

use std::collections::BTreeMap;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Query keys whose values are always masked, compared case-insensitively with `-` read as
/// `_`. Beyond these, any key that contains `token`, `secret`, `password` or `signature`,
/// or ends in `key`, is masked too.
pub const SECRET_QUERY_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "auth_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "sig",
    "signature",
    "code",
    "session",
    "sessionid",
    "x_amz_credential",
    "x_amz_security_token",
    "x_amz_signature",
];

/// Header names whose values are always masked (case-insensitive). Beyond these, any
/// header whose name contains `auth`, `token`, `secret`, `password`, `session` or
/// `signature`, or ends in `key`, is masked too.
pub const SECRET_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Words that introduce the credential in an `Authorization` value.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "digest", "apikey"];

/// Whether a query key's value is a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase().replace('-', "_");
    SECRET_QUERY_KEYS.contains(&k.as_str())
        || ["token", "secret", "password", "signature"]
            .iter()
            .any(|w| k.contains(w))
        || k.ends_with("key")
}

/// Whether a header's value is a secret.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    SECRET_HEADERS.contains(&n.as_str())
        || [
            "auth",
            "token",
            "secret",
            "password",
            "session",
            "signature",
        ]
        .iter()
        .any(|w| n.contains(w))
        || n.ends_with("key")
}

/// The parts of a URL as written, without normalising anything.
struct Parts<'a> {
    /// `scheme://`
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    /// Path, query and fragment.
    rest: &'a str,
}

fn parts(raw: &str) -> Option<Parts<'_>> {
    let at = raw.find("://")?;
    let (scheme, after) = raw.split_at(at + 3);
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    // The last `@` ends the userinfo: a password with a raw `@` is still all hidden.
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    Some(Parts {
        scheme,
        userinfo,
        host,
        rest,
    })
}

/// A URL with its userinfo password (or a userinfo that is only a token) and the values of
/// secret query and fragment keys masked. Text that is not a URL comes back unchanged.
///
/// ```
/// use cutover::redact;
/// assert_eq!(
///     redact::url("https://ops:pw@app/maint/on?token=abc&mode=on"),
///     "https://ops:***@app/maint/on?token=***&mode=on"
/// );
/// ```
pub fn url(raw: &str) -> String {
    let Some(p) = parts(raw) else {
        return raw.to_string();
    };
    let mut out = p.scheme.to_string();
    if let Some(info) = p.userinfo {
        match info.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:{MASK}@")),
            None if info.is_empty() => out.push('@'),
            None => out.push_str(&format!("{MASK}@")),
        }
    }
    out.push_str(p.host);
    out.push_str(&pairs_masked(p.rest));
    out
}

/// Path, query and fragment with the values of secret `key=value` pairs masked.
fn pairs_masked(rest: &str) -> String {
    let (before, fragment) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
    let mut out = match before.find('?') {
        Some(q) => format!("{}{}", &before[..q], section(&before[q..])),
        None => before.to_string(),
    };
    if !fragment.is_empty() {
        out.push_str(&section(fragment));
    }
    out
}

/// `?a=1&token=x` → `?a=1&token=***` (the leading `?` or `#` kept).
fn section(s: &str) -> String {
    let (lead, body) = s.split_at(1);
    let masked: Vec<String> = body
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_secret_key(&decode(k)) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{lead}{}", masked.join("&"))
}

/// A percent-encoded component, decoded (`+` as a space, as in forms).
fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// A webhook URL shown as its scheme and host only: its path and query are the secret.
///
/// ```
/// use cutover::redact;
/// assert_eq!(
///     redact::webhook("https://hooks.slack.com/services/T0/B0/XyZ"),
///     "https://hooks.slack.com/***"
/// );
/// assert_eq!(redact::webhook("not a url"), "***");
/// ```
pub fn webhook(raw: &str) -> String {
    match parts(raw.trim()) {
        Some(p) if !p.host.is_empty() => {
            let tail = if p.rest.trim_matches('/').is_empty() && p.userinfo.is_none() {
                ""
            } else {
                "/***"
            };
            format!("{}{}{tail}", p.scheme, p.host)
        }
        _ => MASK.to_string(),
    }
}

/// Headers with the values of secret ones masked.
pub fn headers(h: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    h.iter()
        .map(|(k, v)| {
            let shown = if is_secret_header(k) {
                MASK.to_string()
            } else {
                text(v)
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Free text (a message, a command line, an error) with every URL in it passed through
/// [`url`], the word after `Bearer`/`Basic`/`Token` masked, and the values of secret
/// `Header: value` and `key=value` pairs masked.
pub fn text(s: &str) -> String {
    let urls = urls_masked(s);
    words_masked(&urls)
}

/// Every `scheme://…` run in `s` (up to whitespace or a quote) through [`url`].
fn urls_masked(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        // Back up over the scheme's letters.
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
            .map_or(0, |i| i + 1);
        let run_end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(rest.len(), |i| at + i);
        // Punctuation that ends a sentence or a message part (`URL: error`) is not the URL's.
        let end = at
            + rest[at..run_end]
                .trim_end_matches([':', ',', '.', ';', ')', '!', '?'])
                .len();
        out.push_str(&rest[..start]);
        if start == at {
            // `://` with no scheme before it: not a URL.
            out.push_str(&rest[start..end]);
        } else {
            out.push_str(&url(&rest[start..end]));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where `words_masked` is: what the next word may be.
#[derive(Clone, Copy, PartialEq)]
enum Next {
    Plain,
    /// After `Authorization:` (or another secret header): a scheme, or the credential.
    AfterHeader,
    /// After `Authorization: Bearer`: the credential.
    Credential,
    /// After a bare `Bearer`: a credential if it looks like a token.
    MaybeToken,
}

/// Word by word: the credential after a secret `Header:` (and its scheme), a token after
/// `Bearer`, and the value of a secret `key=value` word (`--password=x`, `PGPASSWORD=x`).
fn words_masked(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut next = Next::Plain;
    for piece in split_keep_spaces(s) {
        if piece.trim().is_empty() {
            out.push_str(piece);
            continue;
        }
        let (lead, word, trail) = unquote(piece);
        let lower = word.to_ascii_lowercase();
        let (shown, then) = match next {
            Next::AfterHeader if AUTH_SCHEMES.contains(&lower.as_str()) => {
                (word.to_string(), Next::Credential)
            }
            Next::AfterHeader | Next::Credential => (MASK.to_string(), Next::Plain),
            Next::MaybeToken if looks_like_token(word) => (MASK.to_string(), Next::Plain),
            Next::Plain | Next::MaybeToken => plain_word(word, &lower),
        };
        next = then;
        out.push_str(lead);
        out.push_str(&shown);
        out.push_str(trail);
    }
    out
}

/// A word in running text: shown as is or with its value masked, and what may follow it.
fn plain_word(word: &str, lower: &str) -> (String, Next) {
    if lower == "bearer" {
        return (word.to_string(), Next::MaybeToken);
    }
    if let Some(name) = word
        .strip_suffix(':')
        .filter(|n| is_header_name(n) && is_secret_header(n))
    {
        return (format!("{name}:"), Next::AfterHeader);
    }
    match word.split_once('=') {
        Some((k, v))
            if !v.is_empty() && !k.contains("://") && is_secret_key(k.trim_start_matches('-')) =>
        {
            (format!("{k}={MASK}"), Next::Plain)
        }
        _ => (word.to_string(), Next::Plain),
    }
}

/// Whether a word after a bare `Bearer` is a credential rather than English: long, of the
/// characters tokens are made of, with a digit or a punctuation mark tokens use.
fn looks_like_token(w: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    w.len() >= 8
        && w.chars().all(token_char)
        && w.chars()
            .any(|c| c.is_ascii_digit() || "-._~+/=".contains(c))
}

/// Whether a word has the shape of an HTTP header name (`X-Api-Key`).
fn is_header_name(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `s` cut into runs of whitespace and runs of anything else, in order.
fn split_keep_spaces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut space = None;
    for (i, c) in s.char_indices() {
        let is_space = c.is_whitespace();
        if space.is_some_and(|was| was != is_space) {
            out.push(&s[start..i]);
            start = i;
        }
        space = Some(is_space);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// A word without the quotes and punctuation around it: (before, word, after).
fn unquote(piece: &str) -> (&str, &str, &str) {
    let quote = |c: char| matches!(c, '"' | '\'' | '`' | '(' | ')' | ',' | ';');
    let start = piece.find(|c: char| !quote(c)).unwrap_or(piece.len());
    let end = piece.rfind(|c: char| !quote(c)).map_or(start, |i| {
        i + piece[i..].chars().next().map_or(1, char::len_utf8)
    });
    (&piece[..start], &piece[start..end], &piece[end..])
}

/// Secret values a check or an action was configured with, masked wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

/// Shorter values are not searched for in free text: masking every `ab` in a message would
/// garble it. They are still masked by shape (in URLs and headers).
const MIN_SECRET_LEN: usize = 4;

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    fn add(&mut self, value: &str) {
        for v in [value.to_string(), decode(value)] {
            if v.len() >= MIN_SECRET_LEN && !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        // Longest first, so that a value containing another is masked whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// A secret value as it is (a passphrase, a key), masked wherever it appears.
    pub fn value(mut self, value: &str) -> Secrets {
        self.add(value.trim());
        self
    }

    /// The userinfo password and secret query values of a URL.
    pub fn url(mut self, raw: &str) -> Secrets {
        let Some(p) = parts(raw) else {
            return self;
        };
        match p.userinfo.map(|i| i.split_once(':')) {
            Some(Some((_, pass))) => self.add(pass),
            Some(None) => self.add(p.userinfo.unwrap_or_default()),
            None => {}
        }
        for pair in p.rest.split(['?', '#', '&']).skip(1) {
            if let Some((k, v)) = pair.split_once('=')
                && is_secret_key(&decode(k))
            {
                self.add(v);
            }
        }
        self
    }

    /// A webhook URL: all of it, and its path and query.
    pub fn webhook(mut self, raw: &str) -> Secrets {
        let raw = raw.trim();
        self.add(raw);
        if let Some(p) = parts(raw) {
            // A path is a secret when it is long enough to be a token (Slack's
            // `/services/T…/B…/…`); a short one (`/hook`) would mask ordinary words.
            let path = p.rest.trim_start_matches('/');
            if path.len() >= 16 {
                self.add(path);
            }
            if let Some(info) = p.userinfo {
                self.add(info);
            }
        }
        self
    }

    /// The values of secret headers (and of the credential after `Bearer` in them).
    pub fn headers(mut self, h: &BTreeMap<String, String>) -> Secrets {
        for v in h
            .iter()
            .filter(|(k, _)| is_secret_header(k))
            .map(|(_, v)| v)
        {
            self.add(v);
            if let Some((_, credential)) = v.trim().split_once(char::is_whitespace) {
                self.add(credential.trim());
            }
        }
        self
    }

    /// These values and `other`'s.
    pub fn with(mut self, other: Secrets) -> Secrets {
        for v in other.values {
            self.add(&v);
        }
        self
    }

    /// `text` with these values masked, then by shape ([`text`]).
    pub fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for v in &self.values {
            out = out.replace(v.as_str(), MASK);
        }
        text(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            url("http://h:8080/maint/on?token=MAINT&x=1"),
            "http://h:8080/maint/on?token=***&x=1"
        );
        assert_eq!(
            url("http://h/p?api_key=K1&Access-Token=K2&page=2#access_token=K3"),
            "http://h/p?api_key=***&Access-Token=***&page=2#access_token=***"
        );
        assert_eq!(url("redis://:pw@r:6379/0"), "redis://:***@r:6379/0");
        assert_eq!(url("https://u:Abc@Sec@host/x"), "https://u:***@host/x");
        assert_eq!(
            url("https://ghp_tok@github.com/o/r"),
            "https://***@github.com/o/r"
        );
        assert_eq!(url("http://h/health"), "http://h/health");
        assert_eq!(url("not a url"), "not a url");
    }

    #[test]
    fn keys_and_headers() {
        for k in [
            "token",
            "API_KEY",
            "api-key",
            "x-amz-signature",
            "client_secret",
            "mykey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["page", "mode", "query", "id"] {
            assert!(!is_secret_key(k), "{k}");
        }
        for h in ["Authorization", "X-Api-Key", "X-Auth-Token", "Cookie"] {
            assert!(is_secret_header(h), "{h}");
        }
        assert!(!is_secret_header("Content-Type"));
        let h: BTreeMap<String, String> = [
            ("Authorization".to_string(), "Bearer abc".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ]
        .into();
        let shown = headers(&h);
        assert_eq!(shown["Authorization"], MASK);
        assert_eq!(shown["Accept"], "application/json");
    }

    #[test]
    fn webhooks() {
        assert_eq!(webhook("https://hooks.example/"), "https://hooks.example");
        assert_eq!(webhook("https://h:9/x?y"), "https://h:9/***");
        assert_eq!(webhook("https://user:pw@h"), "https://h/***");
    }

    #[test]
    fn free_text() {
        assert_eq!(
            text("POST http://h/maint/on?token=MAINT888 → HTTP 200"),
            "POST http://h/maint/on?token=*** → HTTP 200"
        );
        assert_eq!(
            text("`curl -H 'Authorization: Bearer abc.def' \"https://h/x?key=1\"` ran"),
            "`curl -H 'Authorization: Bearer ***' \"https://h/x?key=***\"` ran"
        );
        assert_eq!(
            text("X-Api-Key: k123 and PGPASSWORD=pw1 --api-key=zz mode=on"),
            "X-Api-Key: *** and PGPASSWORD=*** --api-key=*** mode=on"
        );
        assert_eq!(text("plain words: nothing"), "plain words: nothing");
        // Ordinary words that name schemes are left alone.
        assert_eq!(
            text(r#""level": "basic", "started_at": "2026-01-01T00:00:00Z""#),
            r#""level": "basic", "started_at": "2026-01-01T00:00:00Z""#
        );
        assert_eq!(text("the bearer of news"), "the bearer of news");
        assert_eq!(text("curl -H Bearer eyJhbGci.x1"), "curl -H Bearer ***");
        assert_eq!(
            text("Authorization: Basic dXNlcjpwYXNz"),
            "Authorization: Basic ***"
        );
        assert_eq!(
            text("GET http://h/x?token=abc: refused (see http://h/?key=k)."),
            "GET http://h/x?token=***: refused (see http://h/?key=***)."
        );
        assert_eq!(text("a :// b"), "a :// b");
    }

    #[test]
    fn by_value() {
        let s = Secrets::new()
            .url("http://u:pa%40ss@h/x?token=tok%2B1&page=2")
            .webhook("https://hooks.example/services/T/B/WHSECRET")
            .headers(&[("X-Api-Key".to_string(), "KEY666".to_string())].into());
        assert_eq!(
            s.scrub("echo pa@ss tok+1 KEY666 page=2 services/T/B/WHSECRET"),
            "echo *** *** *** page=2 ***"
        );
        assert_eq!(
            s.scrub("POST https://hooks.example/services/T/B/WHSECRET: refused"),
            "POST ***: refused"
        );
    }
}
