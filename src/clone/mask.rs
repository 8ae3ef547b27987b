//! `cutover clone --mask FILE`: what each masked column becomes, read from TOML and checked
//! against the source's schema before anything is written, then applied to each batch of
//! rows as it streams.
//!
//! Every rule that derives a value from the original is a keyed HMAC-SHA256 of it, so the
//! same input gives the same output in every table (joins hold) and distinct inputs stay
//! distinct (64 bits or more of the hash are kept; integers go through a keyed permutation
//! of their own width, which cannot collide at all). The key is random per clone unless
//! `key_env` names a variable holding one (then clones agree with each other).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use toml::Spanned;

use crate::error::Error;
use crate::schema::{Schema, Table};
use crate::sql::Dialect;
use crate::transfer::endpoint::type_length;
use crate::transfer::value::{Class, Rows, Value};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// A variable holding the hash key (any text); without it, a random key per clone.
    key_env: Option<Spanned<String>>,
    /// `"table.column" = rule`.
    #[serde(default)]
    columns: BTreeMap<String, Spanned<toml::Value>>,
}

/// How a masked integer is permuted: its width in bits, and whether it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits {
    width: u32,
    signed: bool,
}

/// The shape a hash takes in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Int(Bits),
    /// Hex digits, as many as the column holds (at most 32).
    Text(usize),
    Uuid,
    Bytes,
    /// SQLite's untyped column: by each value's kind.
    Any,
}

/// One column's rule.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Fixed(Value),
    /// `u<16 hex>@example.invalid`: as distinct as the originals.
    Email,
    /// A first and last name; with 16 hex digits after when the column is in a unique key.
    Name {
        unique: bool,
    },
    Hash(Shape),
    Null,
}

impl Rule {
    fn word(&self) -> &'static str {
        match self {
            Rule::Fixed(_) => "fixed",
            Rule::Email => "email",
            Rule::Name { .. } => "name",
            Rule::Hash(_) => "hash",
            Rule::Null => "null",
        }
    }
}

/// A checked mask file.
pub struct Mask {
    pub file: PathBuf,
    /// table → (column, rule).
    rules: BTreeMap<String, Vec<(String, Rule)>>,
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mask")
            .field("file", &self.file)
            .field("columns", &self.columns())
            .finish()
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Read `path` and check every rule against `schema` (the source's): unknown tables,
/// columns and rules, and rules the column cannot hold, are errors naming the file's line.
pub fn read(path: &Path, schema: &Schema, dialect: Dialect) -> Result<Mask, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: File = toml::from_str(&text)
        .map_err(|e| Error::Usage(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
    let at =
        |span: std::ops::Range<usize>| format!("{}:{}", path.display(), line_of(&text, span.start));
    let key = match &file.key_env {
        Some(var) => std::env::var(var.get_ref())
            .ok()
            .filter(|k| !k.is_empty())
            .map(String::into_bytes)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: key_env: the variable {} is not set (set it, or leave key_env out for a random key per clone)",
                    at(var.span()),
                    var.get_ref()
                ))
            })?,
        None => random_key(),
    };
    let mut rules: BTreeMap<String, Vec<(String, Rule)>> = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for (name, value) in &file.columns {
        let here = at(value.span());
        let (table, column) =
            find(schema, name).map_err(|why| Error::Usage(format!("{here}: {why}")))?;
        let rule = rule(table, column, value.get_ref(), dialect)
            .map_err(|why| Error::Usage(format!("{here}: {name}: {why}")))?;
        lines.insert((table.name.name.clone(), column.to_string()), here);
        rules
            .entry(table.name.name.clone())
            .or_default()
            .push((column.to_string(), rule));
    }
    check_keys(schema, &rules, &lines)?;
    Ok(Mask {
        file: path.to_path_buf(),
        rules,
        key: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length"),
    })
}

/// Check a mask file's TOML and the words of its rules, without a schema (the README's
/// example is proved this way).
pub fn check_text(text: &str) -> Result<(), String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for (name, value) in &file.columns {
        if name.rsplit_once('.').is_none() {
            return Err(format!("`{name}` is not `table.column`"));
        }
        let known = match value.get_ref() {
            toml::Value::String(w) => ["email", "name", "hash", "null"].contains(&w.as_str()),
            toml::Value::Table(t) => t.len() == 1 && t.contains_key("fixed"),
            _ => false,
        };
        if !known {
            return Err(format!("{name}: unknown rule {:?}", value.get_ref()));
        }
    }
    Ok(())
}

/// 32 random bytes (two v4 UUIDs: the operating system's randomness).
fn random_key() -> Vec<u8> {
    let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

/// `table.column` in the source's default schema.
fn find<'s>(schema: &'s Schema, name: &str) -> Result<(&'s Table, &'s str), String> {
    let Some((t, c)) = name.rsplit_once('.') else {
        return Err(format!("`{name}` is not `table.column`"));
    };
    let table = schema
        .tables
        .iter()
        .filter(|x| x.name.schema.is_empty() || x.name.schema == schema.default_schema)
        .find(|x| x.name.name == t)
        .ok_or_else(|| format!("the source has no table `{t}`"))?;
    let column = table
        .columns
        .iter()
        .find(|x| x.name == c)
        .ok_or_else(|| format!("table `{t}` has no column `{c}`"))?;
    Ok((table, &column.name))
}

/// Whether `column` is part of a primary key, a unique constraint or a unique index.
fn unique(table: &Table, column: &str) -> bool {
    let has = |cols: &[String]| cols.iter().any(|c| c == column);
    table.primary_key.iter().any(|k| has(&k.columns))
        || table.uniques.iter().any(|k| has(&k.columns))
        || table.indexes.iter().any(|i| i.unique && has(&i.columns))
}

/// The rule written for a column, checked against what the column holds.
fn rule(
    table: &Table,
    column: &str,
    value: &toml::Value,
    dialect: Dialect,
) -> Result<Rule, String> {
    let col = table
        .columns
        .iter()
        .find(|c| c.name == column)
        .expect("found");
    let class = Class::of(&col.data_type, &[]);
    let is_unique = unique(table, column);
    let texty = matches!(class, Class::Text | Class::Char | Class::Any);
    let length = type_length(&col.data_type).map(|n| n as usize);
    let fits = |need: usize, what: &str| match length {
        Some(n) if n < need && texty => Err(format!(
            "{} holds {n} characters; {what} needs {need}",
            col.data_type
        )),
        _ => Ok(()),
    };
    let word = match value {
        toml::Value::String(s) => s.as_str(),
        toml::Value::Table(t) if t.len() == 1 && t.contains_key("fixed") => {
            if is_unique {
                return Err(
                    "is part of a unique key: one fixed value would break it (use hash or email)"
                        .into(),
                );
            }
            return fixed(&t["fixed"], &class);
        }
        _ => {
            return Err(
                "a rule is \"email\", \"name\", \"hash\", \"null\" or { fixed = VALUE }".into(),
            );
        }
    };
    match word {
        "email" if texty => fits(33, "a fake e-mail").map(|_| Rule::Email),
        "name" if texty => fits(if is_unique { 40 } else { 23 }, "a fake name")
            .map(|_| Rule::Name { unique: is_unique }),
        "email" | "name" => Err(format!(
            "{word} applies to text columns; {} is {}",
            col.name, col.data_type
        )),
        "hash" => shape(&class, &col.data_type, length, dialect).map(Rule::Hash),
        "null" if !col.nullable => Err("is NOT NULL: it cannot be masked with null".into()),
        "null" => Ok(Rule::Null),
        other => Err(format!(
            "unknown rule `{other}` (known: email, name, hash, null, {{ fixed = VALUE }})"
        )),
    }
}

/// A fixed value as the column's class holds it.
fn fixed(v: &toml::Value, class: &Class) -> Result<Rule, String> {
    let value = match v {
        toml::Value::String(s) => Value::Text(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Real(*f),
        toml::Value::Boolean(b) => Value::Int(i64::from(*b)),
        _ => return Err("a fixed value is a string, a number or a boolean".into()),
    };
    let misfit = matches!(
        (&value, class),
        (
            Value::Text(_),
            Class::Int | Class::Float | Class::Decimal | Class::Bool
        ) | (Value::Real(_), Class::Int | Class::Bool)
    );
    if misfit {
        return Err(format!(
            "the fixed value {v:?} does not fit a column of class {class:?}"
        ));
    }
    Ok(Rule::Fixed(value))
}

/// How a hash is written into a column of `class`.
fn shape(
    class: &Class,
    data_type: &str,
    length: Option<usize>,
    dialect: Dialect,
) -> Result<Shape, String> {
    Ok(match class {
        Class::Int if dialect == Dialect::Sqlite => Shape::Int(Bits {
            width: 64,
            signed: true,
        }),
        Class::Int => Shape::Int(bits(data_type)),
        Class::Text | Class::Char => {
            let hex = length.unwrap_or(32).min(32);
            if hex < 16 {
                return Err(format!(
                    "{data_type} holds fewer than the 16 characters a hash needs to stay distinct"
                ));
            }
            Shape::Text(hex)
        }
        Class::Any => Shape::Any,
        Class::Uuid => Shape::Uuid,
        Class::Bytes => Shape::Bytes,
        other => {
            return Err(format!(
                "hash applies to integer, text, uuid and binary columns, not {data_type} ({other:?})"
            ));
        }
    })
}

/// A PostgreSQL or MariaDB/MySQL integer type's width and sign (SQLite's are all 64-bit,
/// whatever they say).
fn bits(data_type: &str) -> Bits {
    let t = data_type.to_ascii_lowercase();
    let width = if t.contains("tiny") {
        8
    } else if t.contains("small") || t == "int2" {
        16
    } else if t.contains("medium") {
        24
    } else if t.contains("big") || t == "int8" {
        64
    } else if t.starts_with("int") || t == "serial" {
        32
    } else {
        64
    };
    Bits {
        width,
        signed: !t.contains("unsigned"),
    }
}

/// Columns of a foreign key and the columns it references must be masked alike (the same
/// deterministic rule, in the same shape), or the clone's joins would break.
fn check_keys(
    schema: &Schema,
    rules: &BTreeMap<String, Vec<(String, Rule)>>,
    lines: &BTreeMap<(String, String), String>,
) -> Result<(), Error> {
    let rule_of = |t: &str, c: &str| {
        rules
            .get(t)
            .and_then(|cs| cs.iter().find(|(n, _)| n == c))
            .map(|(_, r)| r)
    };
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            for (c, p) in fk.columns.iter().zip(&fk.referenced_columns) {
                let (child, parent) = (rule_of(&t.name.name, c), rule_of(&fk.references.name, p));
                let line = lines
                    .get(&(t.name.name.clone(), c.clone()))
                    .or_else(|| lines.get(&(fk.references.name.clone(), p.clone())));
                let both = format!("{}.{c} references {}.{p}", t.name.name, fk.references.name);
                let why = match (child, parent) {
                    (None, None) | (Some(Rule::Null), None) => continue,
                    (Some(a), Some(b)) if a == b && matches!(a, Rule::Hash(_) | Rule::Email) => {
                        continue;
                    }
                    (Some(Rule::Hash(a)), Some(Rule::Hash(b))) => {
                        format!("{both}, but their hashes differ in shape ({a:?} vs {b:?})")
                    }
                    (Some(a), Some(b)) if a.word() == b.word() => format!(
                        "{both}: {} cannot keep that join (use hash or email on both)",
                        a.word()
                    ),
                    _ => format!("{both}: mask both columns with the same rule (hash keeps joins)"),
                };
                return Err(Error::Usage(format!(
                    "{}: {why}",
                    line.cloned().unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

const FIRST: [&str; 24] = [
    "Alex", "Sam", "Robin", "Kim", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley",
    "Avery", "Quinn", "Charlie", "Drew", "Emery", "Finley", "Harper", "Jesse", "Kai", "Logan",
    "Noa", "Parker", "Rowan", "Sky",
];
const LAST: [&str; 24] = [
    "Smith", "Garcia", "Müller", "Rossi", "Dubois", "Nowak", "Silva", "Kowalski", "Jensen",
    "Novak", "Santos", "Moreau", "Fischer", "Romano", "Larsen", "Horvat", "Costa", "Weber",
    "Martin", "Lopez", "Bauer", "Ricci", "Nielsen", "Ferrari",
];

/// The rules of one table, by the position of their columns in a batch.
pub struct TableMask {
    columns: Vec<(usize, Rule)>,
    key: Hmac<Sha256>,
}

impl Mask {
    /// The rules of `table` for a batch whose columns are `columns`.
    pub fn for_table(&self, table: &str, columns: &[String]) -> TableMask {
        let rules = self.rules.get(table).cloned().unwrap_or_default();
        TableMask {
            columns: rules
                .into_iter()
                .filter_map(|(c, r)| columns.iter().position(|x| *x == c).map(|i| (i, r)))
                .collect(),
            key: self.key.clone(),
        }
    }

    /// Whether any column of `table` is masked.
    pub fn masks(&self, table: &str) -> bool {
        self.rules.get(table).is_some_and(|r| !r.is_empty())
    }

    /// `table.column rule` of every masked column, for reports.
    pub fn columns(&self) -> Vec<String> {
        self.rules
            .iter()
            .flat_map(|(t, cs)| cs.iter().map(move |(c, r)| format!("{t}.{c} {}", r.word())))
            .collect()
    }
}

impl TableMask {
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Mask every row of a batch in place.
    pub fn apply(&self, rows: &mut Rows) {
        for row in rows.iter_mut() {
            for (i, rule) in &self.columns {
                let v = std::mem::replace(&mut row[*i], Value::Null);
                row[*i] = self.value(rule, v);
            }
        }
    }

    fn mac(&self, bytes: &[u8]) -> [u8; 32] {
        let mut m = self.key.clone();
        m.update(bytes);
        m.finalize().into_bytes().into()
    }

    /// The hash of a value's canonical text (an integer and its text agree).
    fn digest(&self, v: &Value) -> [u8; 32] {
        match v {
            Value::Bytes(b) => self.mac(b),
            other => self.mac(other.text().unwrap_or_default().as_bytes()),
        }
    }

    fn value(&self, rule: &Rule, v: Value) -> Value {
        if v == Value::Null {
            return Value::Null;
        }
        match rule {
            Rule::Null => Value::Null,
            Rule::Fixed(f) => f.clone(),
            Rule::Email => Value::Text(format!(
                "u{}@example.invalid",
                hex::encode(&self.digest(&v)[..8])
            )),
            Rule::Name { unique } => {
                let h = self.digest(&v);
                let mut name = format!(
                    "{} {}",
                    FIRST[h[0] as usize % FIRST.len()],
                    LAST[h[1] as usize % LAST.len()]
                );
                if *unique {
                    name.push(' ');
                    name.push_str(&hex::encode(&h[2..10]));
                }
                Value::Text(name)
            }
            Rule::Hash(shape) => self.hash(*shape, v),
        }
    }

    fn hash(&self, shape: Shape, v: Value) -> Value {
        match (shape, &v) {
            (Shape::Int(bits), Value::Int(i)) => Value::Int(self.permute(*i, bits)),
            (Shape::Any, Value::Int(i)) => Value::Int(self.permute(
                *i,
                Bits {
                    width: 64,
                    signed: true,
                },
            )),
            (Shape::Uuid, _) => {
                let h = self.digest(&v);
                let mut b = [0u8; 16];
                b.copy_from_slice(&h[..16]);
                Value::Text(uuid::Builder::from_random_bytes(b).into_uuid().to_string())
            }
            (Shape::Bytes, _) => Value::Bytes(self.digest(&v).to_vec()),
            (Shape::Text(n), _) => Value::Text(hex::encode(self.digest(&v))[..n].to_string()),
            _ => Value::Text(hex::encode(self.digest(&v))),
        }
    }

    /// A keyed Feistel permutation of the integer's `width` bits (four HMAC rounds): a
    /// bijection, so distinct values stay distinct and every copy of one value agrees.
    fn permute(&self, i: i64, bits: Bits) -> i64 {
        let half = bits.width / 2;
        let mask = (1u64 << half) - 1;
        let all = if bits.width == 64 {
            u64::MAX
        } else {
            (1u64 << bits.width) - 1
        };
        let x = (i as u64) & all;
        let (mut l, mut r) = (x >> half, x & mask);
        for round in 0u8..4 {
            let mut m = self.key.clone();
            m.update(&[round, bits.width as u8]);
            m.update(&r.to_le_bytes());
            let f = u64::from_le_bytes(
                m.finalize().into_bytes()[..8]
                    .try_into()
                    .expect("eight bytes"),
            ) & mask;
            (l, r) = (r, l ^ f);
        }
        let out = (l << half) | r;
        if bits.signed && bits.width < 64 && out >> (bits.width - 1) == 1 {
            (out | !all) as i64
        } else {
            out as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_mask(rule: Rule) -> TableMask {
        TableMask {
            columns: vec![(0, rule)],
            key: Hmac::<Sha256>::new_from_slice(b"k").unwrap(),
        }
    }

    #[test]
    fn integer_permutation_is_a_bijection_in_its_width() {
        let m = table_mask(Rule::Null);
        let bits = Bits {
            width: 16,
            signed: true,
        };
        let mut seen = std::collections::BTreeSet::new();
        for i in i16::MIN..=i16::MAX {
            let p = m.permute(i as i64, bits);
            assert!((i16::MIN as i64..=i16::MAX as i64).contains(&p), "{p}");
            assert!(seen.insert(p), "{i} collides");
        }
        let unsigned = Bits {
            width: 8,
            signed: false,
        };
        let all: std::collections::BTreeSet<i64> =
            (0..=255).map(|i| m.permute(i, unsigned)).collect();
        assert_eq!(all.len(), 256);
        assert!(all.iter().all(|v| (0..=255).contains(v)));
    }

    #[test]
    fn same_input_same_output_distinct_stays_distinct() {
        let m = table_mask(Rule::Email);
        let mut rows = vec![
            vec![Value::Text("a@x.org".into())],
            vec![Value::Text("A@x.org".into())],
            vec![Value::Text("a@x.org".into())],
            vec![Value::Null],
        ];
        m.apply(&mut rows);
        assert_eq!(rows[0], rows[2]);
        assert_ne!(rows[0], rows[1]);
        assert_eq!(rows[3][0], Value::Null);
        let Value::Text(t) = &rows[0][0] else {
            panic!()
        };
        assert!(t.ends_with("@example.invalid") && t.len() == 33, "{t}");
    }

    #[test]
    fn integer_widths_follow_the_type() {
        assert_eq!(bits("integer").width, 32);
        assert_eq!(bits("bigint").width, 64);
        assert_eq!(bits("smallint").width, 16);
        assert_eq!(bits("int(11)").width, 32);
        assert_eq!(bits("tinyint(4)").width, 8);
        assert_eq!(bits("INTEGER").width, 32);
        assert!(!bits("int(10) unsigned").signed);
    }
}
