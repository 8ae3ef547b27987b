//! The schema model: one engine-neutral description of a database's tables, columns, keys,
//! indexes, constraints and views (and on PostgreSQL its enum types, sequences and
//! schemas), filled by each engine from its own catalog, compared by `diff` and summed up
//! by a stable `fingerprint`.
//!
//! Introspection is hand-written per engine (`postgres.rs`, `mysql.rs`, `sqlite.rs`): the
//! crates that read schemas (sea-schema, atlas's Go library) either run one query per table,
//! pin other sqlx versions, or miss what we check (NOT VALID keys, partial and expression
//! indexes, MariaDB's check constraints). Each engine asks its catalog a fixed number of
//! queries, so a 2,000-table schema costs about what a 20-table one does.
//!
//! Every list in the model is sorted, so two introspections of the same schema are equal
//! value for value; column order inside a table is kept, because it is part of the schema.

mod diff;
pub(crate) mod mysql;
pub(crate) mod postgres;
mod rows;
pub(crate) mod sqlite;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use diff::{Change, ChangeKind, diff};

/// Read the live schema of `e`'s database from its catalog, the engine's way.
pub fn introspect(e: &mut dyn crate::engine::Engine) -> Result<Schema, crate::engine::DbError> {
    (crate::driver::of(e.kind()).introspect)(e)
}

/// Tables cutover itself keeps in a target; never part of the application's schema.
pub const OWN_TABLES: &[&str] = &crate::tables::ALL;

/// A database's schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The schema unqualified names resolve in (PostgreSQL's `current_schema()`); empty
    /// on engines without schemas.
    pub default_schema: String,
    pub tables: Vec<Table>,
    pub views: Vec<View>,
    /// PostgreSQL enum types (MySQL's enums are column types).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<EnumType>,
    /// PostgreSQL sequences, including those behind serial and identity columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<Sequence>,
}

/// A table name with its schema (empty on engines without schemas).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Name {
    pub schema: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    #[serde(flatten)]
    pub name: Name,
    /// In the table's order.
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Key>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes that back no primary key or unique constraint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Unique constraints (on MySQL: every unique index).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Key>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The type as the catalog spells it (`character varying(255)`, `varchar(255)`).
    #[serde(rename = "type")]
    pub data_type: String,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Identity, auto-increment or generation expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Engines generate names; they are shown but not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub references: Name,
    pub referenced_columns: Vec<String>,
    pub on_delete: Rule,
    pub on_update: Rule,
    /// False for a PostgreSQL key added `NOT VALID` and never validated: existing rows
    /// were not checked.
    pub validated: bool,
}

/// What a foreign key does when the referenced row goes away or changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Rule {
    #[default]
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl TryFrom<String> for Rule {
    type Error = String;

    fn try_from(text: String) -> Result<Rule, String> {
        Rule::parse(&text).ok_or_else(|| {
            format!(
                "`{text}` is not a rule: use cascade, restrict, set null, set default or no action"
            )
        })
    }
}

impl Rule {
    /// Read a rule as catalogs and people write it (`CASCADE`, `set null`, `SET_NULL`).
    pub fn parse(text: &str) -> Option<Rule> {
        let t = text.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        Some(match t.as_str() {
            "no action" | "" => Rule::NoAction,
            "restrict" => Rule::Restrict,
            "cascade" => Rule::Cascade,
            "set null" => Rule::SetNull,
            "set default" => Rule::SetDefault,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoAction => "no action",
            Rule::Restrict => "restrict",
            Rule::Cascade => "cascade",
            Rule::SetNull => "set null",
            Rule::SetDefault => "set default",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// Column names, or expressions as the catalog prints them.
    pub columns: Vec<String>,
    /// The `WHERE` of a partial index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// Access method where the engine has several (`btree`, `gin`, `HASH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub expression: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    #[serde(flatten)]
    pub name: Name,
    pub materialized: bool,
    pub definition: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    #[serde(flatten)]
    pub name: Name,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    #[serde(flatten)]
    pub name: Name,
    #[serde(rename = "type")]
    pub data_type: String,
    pub start: String,
    pub increment: String,
}

impl Name {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Name {
        Name {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The name as SQL: `"schema"."table"`, or just the quoted table without a schema.
    pub fn sql(&self, d: crate::sql::Dialect) -> String {
        if self.schema.is_empty() {
            d.quote(&self.name)
        } else {
            format!("{}.{}", d.quote(&self.schema), d.quote(&self.name))
        }
    }

    /// `schema.name`, or just `name` in the default schema.
    pub fn display(&self, default_schema: &str) -> String {
        if self.schema.is_empty() || self.schema == default_schema {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }
}

impl Schema {
    /// Sort every list so equal schemas are equal values, and drop cutover's own tables.
    pub(crate) fn normalize(mut self) -> Schema {
        self.tables
            .retain(|t| !OWN_TABLES.contains(&t.name.name.as_str()));
        for t in &mut self.tables {
            t.foreign_keys.sort_by(|a, b| {
                (&a.columns, &a.references, &a.referenced_columns).cmp(&(
                    &b.columns,
                    &b.references,
                    &b.referenced_columns,
                ))
            });
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            t.uniques.sort_by(|a, b| a.columns.cmp(&b.columns));
            t.checks.sort_by(|a, b| a.expression.cmp(&b.expression));
        }
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        self.views.sort_by(|a, b| a.name.cmp(&b.name));
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.sequences.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }

    /// The table `name` refers to: `schema.table`, or an unqualified name in the default
    /// schema (or the only table of that name in any schema).
    pub fn table(&self, name: &str) -> Option<&Table> {
        if let Some((schema, table)) = name.split_once('.') {
            return self
                .tables
                .iter()
                .find(|t| t.name.schema == schema && t.name.name == table);
        }
        let mut same = self.tables.iter().filter(|t| t.name.name == name);
        let first = same.next()?;
        if first.name.schema == self.default_schema || first.name.schema.is_empty() {
            return Some(first);
        }
        let rest: Vec<_> = same.collect();
        rest.iter()
            .find(|t| t.name.schema == self.default_schema)
            .copied()
            .or(rest.is_empty().then_some(first))
    }

    pub fn foreign_key_count(&self) -> usize {
        self.tables.iter().map(|t| t.foreign_keys.len()).sum()
    }

    /// A stable digest of the schema: equal for equal schemas on the same engine. Column
    /// order counts; names the engine generates for constraints do not.
    pub fn fingerprint(&self) -> String {
        let mut canonical = self.clone();
        for t in &mut canonical.tables {
            t.primary_key.iter_mut().for_each(|k| k.name = None);
            t.foreign_keys.iter_mut().for_each(|k| k.name = None);
            t.uniques.iter_mut().for_each(|k| k.name = None);
            t.checks.iter_mut().for_each(|k| k.name = None);
        }
        let json = serde_json::to_vec(&canonical).expect("a schema always serialises");
        let digest = Sha256::digest(&json);
        format!("sha256:{}", hex::encode(&digest[..16]))
    }
}

/// Columns that travel through a catalog query as one text value, joined by U+001F
/// (unit separator), which no identifier in these catalogs contains.
pub(crate) const SEP: char = '\u{1f}';

pub(crate) fn split_list(text: Option<&str>) -> Vec<String> {
    match text {
        None | Some("") => Vec::new(),
        Some(t) => t.split(SEP).map(str::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, cols: &[&str]) -> Table {
        Table {
            name: Name::new("", name),
            columns: cols
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    data_type: "int".into(),
                    nullable: true,
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        }
    }

    #[test]
    fn fingerprint_ignores_constraint_names_but_not_column_order() {
        let mut a = Schema {
            tables: vec![table("t", &["a", "b"])],
            ..Schema::default()
        };
        a.tables[0].primary_key = Some(Key {
            name: Some("t_pkey".into()),
            columns: vec!["a".into()],
        });
        let mut b = a.clone();
        b.tables[0].primary_key.as_mut().unwrap().name = Some("pk_t".into());
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.tables[0].columns.reverse();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn normalize_sorts_and_drops_history() {
        let s = Schema {
            tables: vec![
                table("b", &[]),
                table(crate::tables::HISTORY_TABLE, &[]),
                table("a", &[]),
            ],
            ..Schema::default()
        }
        .normalize();
        let names: Vec<_> = s.tables.iter().map(|t| t.name.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn table_lookup_prefers_default_schema() {
        let mut s = Schema {
            default_schema: "public".into(),
            ..Schema::default()
        };
        for schema in ["audit", "public"] {
            let mut t = table("users", &[]);
            t.name.schema = schema.into();
            s.tables.push(t);
        }
        assert_eq!(s.table("users").unwrap().name.schema, "public");
        assert_eq!(s.table("audit.users").unwrap().name.schema, "audit");
        assert!(s.table("nope").is_none());
    }

    #[test]
    fn rules_parse_as_written() {
        assert_eq!(Rule::parse("CASCADE"), Some(Rule::Cascade));
        assert_eq!(Rule::parse("set_null"), Some(Rule::SetNull));
        assert_eq!(Rule::parse("NO ACTION"), Some(Rule::NoAction));
        assert_eq!(Rule::parse("explode"), None);
    }
}
