//! The values a transfer carries and the classes of column types they belong to. Every
//! engine's type names fall into one engine-neutral class; readers hand values over in a
//! canonical form for their class (booleans as 0/1, bytes decoded, time stamps in UTC
//! without an offset), so that every writer needs to know only the class and its own
//! engine. A type with no class (arrays, geometry, ranges…) is `Other` and is carried only
//! to a column of the same type on the same engine, or refused by name.

use serde::Serialize;

/// One value of one row, as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as text, for the writers that send text (COPY, SQL literals).
    pub fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            Value::Null => None,
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Real(f) => Some(Cow::Owned(real_text(*f))),
            Value::Text(s) => Some(Cow::Borrowed(s)),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b)),
        }
    }
}

/// Text a server sent, as `str`: checked whole by `from_utf8` (cheaper than
/// `from_utf8_lossy`'s chunked walk, a few percent of a load's CPU), lossy only if invalid.
pub fn utf8(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A float as its shortest round-trip text (`0.99`, `2`, `1e300`).
pub fn real_text(f: f64) -> String {
    format!("{f}")
}

/// One batch of rows, in the column order of the transfer's select list.
pub type Rows = Vec<Vec<Value>>;

/// What kind of values a column holds, whatever the engine calls its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Int,
    Bool,
    Decimal,
    Float,
    Text,
    /// Fixed-width character types: trailing spaces are padding, not data.
    Char,
    Bytes,
    Date,
    Time,
    Timestamp,
    /// A time stamp with a time zone: carried as UTC without an offset.
    TimestampTz,
    Json,
    Uuid,
    /// A PostgreSQL enum type or a MariaDB/MySQL `ENUM(…)`: carried as its label.
    Enum,
    /// SQLite's untyped column: any value, as stored.
    Any,
    /// A type no other engine has an equal for, by its name.
    Other(String),
}

impl Class {
    /// The class of a type as a catalog spells it (`character varying(255)`, `NVARCHAR(40)`,
    /// `tinyint(1)`, `timestamp with time zone`). `enums` names PostgreSQL's enum types.
    pub fn of(data_type: &str, enums: &[String]) -> Class {
        let t = data_type.trim().to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or(&t).trim();
        if t.is_empty() {
            return Class::Any;
        }
        if t.ends_with("[]") {
            return Class::Other(data_type.to_string());
        }
        if enums.iter().any(|e| e.eq_ignore_ascii_case(base)) || base == "enum" {
            return Class::Enum;
        }
        match base {
            "boolean" | "bool" => Class::Bool,
            "numeric" | "decimal" | "dec" | "fixed" => Class::Decimal,
            "real" | "double precision" | "double" | "float" | "float4" | "float8" => Class::Float,
            "date" => Class::Date,
            "time" | "time without time zone" => Class::Time,
            "timestamp" | "timestamp without time zone" | "datetime" => Class::Timestamp,
            "timestamp with time zone" | "timestamptz" => Class::TimestampTz,
            "json" | "jsonb" => Class::Json,
            "uuid" => Class::Uuid,
            "year" => Class::Int,
            "character" | "char" | "nchar" | "bpchar" => Class::Char,
            "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
                Class::Bytes
            }
            "set" | "citext" | "name" => Class::Text,
            _ if base.starts_with("timestamp") && base.contains("with time zone") => {
                Class::TimestampTz
            }
            _ if base.starts_with("timestamp") => Class::Timestamp,
            // SQLite's affinity rules, which also cover every other engine's integer and
            // text names (`int4`, `mediumint`, `nvarchar`, `clob`, `longtext`).
            _ if base.contains("int") && !base.contains("interval") && !base.contains("point") => {
                Class::Int
            }
            _ if base.contains("char") || base.contains("clob") || base.contains("text") => {
                Class::Text
            }
            _ if base.contains("real") || base.contains("floa") || base.contains("doub") => {
                Class::Float
            }
            _ => Class::Other(data_type.to_string()),
        }
    }

    /// Whether the class has values every engine can hold.
    pub fn portable(&self) -> bool {
        !matches!(self, Class::Other(_))
    }

    /// Whether values are compared by their sum in the reconciliation.
    pub fn numeric(&self) -> bool {
        matches!(
            self,
            Class::Int | Class::Bool | Class::Decimal | Class::Float
        )
    }
}

/// A value the server sent as text, in its class's canonical form: integers and floats as
/// numbers, booleans as 0/1, PostgreSQL's `\x…` bytes as bytes, time stamps without a `T`,
/// a zero offset or a fraction of zeros.
pub fn from_text(text: &str, class: &Class) -> Value {
    match class {
        Class::Int => text
            .parse()
            .map_or_else(|_| Value::Text(text.to_string()), Value::Int),
        Class::Bool => match text {
            "t" | "true" | "TRUE" | "1" => Value::Int(1),
            "f" | "false" | "FALSE" | "0" => Value::Int(0),
            other => Value::Text(other.to_string()),
        },
        Class::Float => text
            .parse()
            .map_or_else(|_| Value::Text(text.to_string()), Value::Real),
        Class::Bytes => unhex_bytea(text).map_or_else(|| Value::Bytes(text.into()), Value::Bytes),
        Class::Timestamp | Class::TimestampTz | Class::Time => {
            Value::Text(canonical_time(text).into_owned())
        }
        _ => Value::Text(text.to_string()),
    }
}

/// A time stamp's text in the form every engine reads: `YYYY-MM-DD HH:MM:SS[.ffffff]`,
/// without a `T`, an offset of zero, or a fraction of zeros.
pub fn canonical_time(text: &str) -> std::borrow::Cow<'_, str> {
    let mut s = text.trim();
    for suffix in ["+00:00", "+00", "Z"] {
        if let Some(stripped) = s.strip_suffix(suffix) {
            s = stripped;
            break;
        }
    }
    // A fraction's trailing zeros are precision, not value (`.996570` is `.99657`).
    if let Some(dot) = s.rfind('.')
        && s[dot + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        let kept = s.trim_end_matches('0').len();
        s = &s[..if kept == dot + 1 { dot } else { kept }];
    }
    // Borrowed unless there is a `T` to replace: a load counts a million of these.
    match s.contains('T') {
        true => s.replacen('T', " ", 1).into(),
        false => s.into(),
    }
}

/// PostgreSQL's `\x…` text of a `bytea` as bytes.
pub fn unhex_bytea(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.strip_prefix("\\x")?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_every_engines_names() {
        let none: &[String] = &[];
        for (t, c) in [
            ("character varying(255)", Class::Text),
            ("NVARCHAR(40)", Class::Text),
            ("integer", Class::Int),
            ("tinyint(1)", Class::Int),
            ("NUMERIC(10,2)", Class::Decimal),
            ("double precision", Class::Float),
            ("timestamp with time zone", Class::TimestampTz),
            ("timestamp(6) without time zone", Class::Timestamp),
            ("DATETIME", Class::Timestamp),
            ("bytea", Class::Bytes),
            ("longblob", Class::Bytes),
            ("enum('G','PG')", Class::Enum),
            ("character(20)", Class::Char),
            ("", Class::Any),
            ("text[]", Class::Other("text[]".into())),
            ("tsvector", Class::Other("tsvector".into())),
            ("interval", Class::Other("interval".into())),
            ("geometry", Class::Other("geometry".into())),
        ] {
            assert_eq!(Class::of(t, none), c, "{t}");
        }
        assert_eq!(
            Class::of("mpaa_rating", &["mpaa_rating".into()]),
            Class::Enum
        );
    }

    #[test]
    fn time_stamps_in_one_form() {
        assert_eq!(
            canonical_time("2009-01-01T00:00:00.000000+00"),
            "2009-01-01 00:00:00"
        );
        assert_eq!(
            canonical_time("2009-01-01 10:00:00.25"),
            "2009-01-01 10:00:00.25"
        );
        assert_eq!(canonical_time("2009-01-01"), "2009-01-01");
    }

    #[test]
    fn text_checked_whole_and_lossy_only_when_invalid() {
        assert!(matches!(
            utf8("é ok".as_bytes()),
            std::borrow::Cow::Borrowed("é ok")
        ));
        assert_eq!(utf8(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn bytea_hex_both_ways() {
        assert_eq!(unhex_bytea("\\x00ff41"), Some(vec![0, 255, b'A']));
        assert_eq!(hex::encode([0, 255, b'A']), "00ff41");
        assert_eq!(unhex_bytea("plain"), None);
    }
}
