//! The difference between two schemas, as a list of added, removed and changed objects.
//! "Added" means present in `to` and not in `from`: for drift (`from` = the migrations,
//! `to` = the live database) an added column is one somebody created by hand.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;

use super::{Column, ForeignKey, Index, Key, Schema, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// `table`, `column`, `primary key`, `foreign key`, `index`, `unique`, `check`,
    /// `view`, `enum`, `sequence`.
    pub object: &'static str,
    /// Which one, e.g. `students.email` or `enrollments (student_id) → students (id)`.
    pub name: String,
    /// For a change: what differs, `from → to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = match self.kind {
            ChangeKind::Added => "+",
            ChangeKind::Removed => "-",
            ChangeKind::Changed => "~",
        };
        write!(f, "{sign} {} {}", self.object, self.name)?;
        match &self.detail {
            Some(d) => write!(f, ": {d}"),
            None => Ok(()),
        }
    }
}

/// Everything that differs from `from` to `to`.
pub fn diff(from: &Schema, to: &Schema) -> Vec<Change> {
    let ds = to.default_schema.as_str();
    let mut out = Vec::new();
    let mut d = Differ { ds, out: &mut out };
    d.keyed(
        "table",
        &from.tables,
        &to.tables,
        |t| t.name.display(ds),
        |d, name, a, b| d.table(name, a, b),
    );
    d.keyed(
        "view",
        &from.views,
        &to.views,
        |v| v.name.display(ds),
        |d, name, a, b| {
            if a.materialized != b.materialized {
                d.changed(
                    "view",
                    name,
                    format!("materialized: {} → {}", a.materialized, b.materialized),
                );
            }
            if squash(&a.definition) != squash(&b.definition) {
                d.changed(
                    "view",
                    name,
                    format!("definition: {} → {}", a.definition, b.definition),
                );
            }
        },
    );
    d.keyed(
        "enum",
        &from.enums,
        &to.enums,
        |e| e.name.display(ds),
        |d, name, a, b| {
            if a.values != b.values {
                d.changed(
                    "enum",
                    name,
                    format!("{} → {}", a.values.join(", "), b.values.join(", ")),
                );
            }
        },
    );
    d.keyed(
        "sequence",
        &from.sequences,
        &to.sequences,
        |s| s.name.display(ds),
        |d, name, a, b| {
            for (what, x, y) in [
                ("type", &a.data_type, &b.data_type),
                ("start", &a.start, &b.start),
                ("increment", &a.increment, &b.increment),
            ] {
                if x != y {
                    d.changed("sequence", name, format!("{what}: {x} → {y}"));
                }
            }
        },
    );
    out
}

/// Whitespace runs as one space, for comparing definitions a catalog may re-indent.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Differ<'a> {
    ds: &'a str,
    out: &'a mut Vec<Change>,
}

impl Differ<'_> {
    fn push(
        &mut self,
        kind: ChangeKind,
        object: &'static str,
        name: String,
        detail: Option<String>,
    ) {
        self.out.push(Change {
            kind,
            object,
            name,
            detail,
        });
    }

    fn changed(&mut self, object: &'static str, name: &str, detail: String) {
        self.push(ChangeKind::Changed, object, name.to_string(), Some(detail));
    }

    /// Match two lists by a key: report what only one side has, compare the rest.
    fn keyed<T, K: Ord + Clone + Debug + ToString>(
        &mut self,
        object: &'static str,
        from: &[T],
        to: &[T],
        key: impl Fn(&T) -> K,
        mut compare: impl FnMut(&mut Self, &str, &T, &T),
    ) {
        let a: BTreeMap<K, &T> = from.iter().map(|x| (key(x), x)).collect();
        let b: BTreeMap<K, &T> = to.iter().map(|x| (key(x), x)).collect();
        for (k, x) in &a {
            match b.get(k) {
                None => self.push(ChangeKind::Removed, object, k.to_string(), None),
                Some(y) => compare(self, &k.to_string(), x, y),
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            self.push(ChangeKind::Added, object, k.to_string(), None);
        }
    }

    fn table(&mut self, t: &str, a: &Table, b: &Table) {
        let col = |c: &Column| format!("{t}.{}", c.name);
        self.keyed("column", &a.columns, &b.columns, col, |d, name, x, y| {
            d.column(name, x, y)
        });
        self.column_order(t, a, b);
        let pk = |k: &Option<Key>| k.as_ref().map(|k| k.columns.join(", "));
        if pk(&a.primary_key) != pk(&b.primary_key) {
            let show = |k: Option<String>| k.map_or("none".to_string(), |c| format!("({c})"));
            let detail = format!(
                "{} → {}",
                show(pk(&a.primary_key)),
                show(pk(&b.primary_key))
            );
            self.changed("primary key", t, detail);
        }
        let ds = self.ds.to_string();
        let fk = |k: &ForeignKey| {
            format!(
                "{t} ({}) → {} ({})",
                k.columns.join(", "),
                k.references.display(&ds),
                k.referenced_columns.join(", ")
            )
        };
        self.keyed(
            "foreign key",
            &a.foreign_keys,
            &b.foreign_keys,
            fk,
            |d, name, x, y| d.foreign_key(name, x, y),
        );
        let ix = |i: &Index| format!("{t}.{}", i.name);
        self.keyed("index", &a.indexes, &b.indexes, ix, |d, name, x, y| {
            d.index(name, x, y)
        });
        let uq = |k: &Key| format!("{t} ({})", k.columns.join(", "));
        self.keyed("unique", &a.uniques, &b.uniques, uq, |_, _, _, _| {});
        let ck = |c: &super::Check| format!("{t}: {}", c.expression);
        self.keyed("check", &a.checks, &b.checks, ck, |_, _, _, _| {});
    }

    fn column(&mut self, name: &str, a: &Column, b: &Column) {
        let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        let mut parts = Vec::new();
        if a.data_type != b.data_type {
            parts.push(format!("type {} → {}", a.data_type, b.data_type));
        }
        if a.nullable != b.nullable {
            let n = |x: bool| if x { "NULL" } else { "NOT NULL" };
            parts.push(format!("{} → {}", n(a.nullable), n(b.nullable)));
        }
        if a.default != b.default {
            parts.push(format!(
                "default {} → {}",
                show(&a.default),
                show(&b.default)
            ));
        }
        if a.generated != b.generated {
            parts.push(format!(
                "generated {} → {}",
                show(&a.generated),
                show(&b.generated)
            ));
        }
        if !parts.is_empty() {
            self.changed("column", name, parts.join("; "));
        }
    }

    /// The columns both sides have, in a different order.
    fn column_order(&mut self, t: &str, a: &Table, b: &Table) {
        let common = |x: &Table, y: &Table| -> Vec<String> {
            x.columns
                .iter()
                .filter(|c| y.columns.iter().any(|d| d.name == c.name))
                .map(|c| c.name.clone())
                .collect()
        };
        let (ca, cb) = (common(a, b), common(b, a));
        if ca != cb {
            let detail = format!("column order {} → {}", ca.join(", "), cb.join(", "));
            self.changed("table", t, detail);
        }
    }

    fn foreign_key(&mut self, name: &str, a: &ForeignKey, b: &ForeignKey) {
        if a.on_delete != b.on_delete {
            let detail = format!(
                "on delete {} → {}",
                a.on_delete.as_str(),
                b.on_delete.as_str()
            );
            self.changed("foreign key", name, detail);
        }
        if a.on_update != b.on_update {
            let detail = format!(
                "on update {} → {}",
                a.on_update.as_str(),
                b.on_update.as_str()
            );
            self.changed("foreign key", name, detail);
        }
        if a.validated != b.validated {
            let v = |x: bool| if x { "validated" } else { "NOT VALID" };
            self.changed(
                "foreign key",
                name,
                format!("{} → {}", v(a.validated), v(b.validated)),
            );
        }
    }

    fn index(&mut self, name: &str, a: &Index, b: &Index) {
        let show = |i: &Index| {
            let mut s = format!(
                "{}({})",
                if i.unique { "unique " } else { "" },
                i.columns.join(", ")
            );
            if let Some(p) = &i.predicate {
                s.push_str(&format!(" WHERE {p}"));
            }
            if let Some(m) = &i.method {
                s.push_str(&format!(" USING {m}"));
            }
            s
        };
        if show(a) != show(b) {
            self.changed("index", name, format!("{} → {}", show(a), show(b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Name, Rule, Table};
    use super::*;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            nullable: true,
            ..Column::default()
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables,
            ..Schema::default()
        }
        .normalize()
    }

    fn students(extra: Option<Column>) -> Table {
        let mut columns = vec![col("id", "int"), col("email", "text")];
        columns.extend(extra);
        Table {
            name: Name::new("", "students"),
            columns,
            ..Table::default()
        }
    }

    #[test]
    fn equal_schemas_have_no_changes() {
        let a = schema(vec![students(None)]);
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn added_column_type_change_and_rule_change() {
        let mut enroll = Table {
            name: Name::new("", "enrollments"),
            columns: vec![col("student_id", "int")],
            ..Table::default()
        };
        enroll.foreign_keys.push(ForeignKey {
            columns: vec!["student_id".into()],
            references: Name::new("", "students"),
            referenced_columns: vec!["id".into()],
            validated: true,
            ..ForeignKey::default()
        });
        let a = schema(vec![students(None), enroll.clone()]);
        enroll.foreign_keys[0].on_delete = Rule::Cascade;
        let mut s = students(Some(col("nickname", "text")));
        s.columns[1].data_type = "varchar(255)".into();
        let b = schema(vec![s, enroll]);
        let lines: Vec<String> = diff(&a, &b).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "~ foreign key enrollments (student_id) → students (id): on delete no action → cascade",
                "~ column students.email: type text → varchar(255)",
                "+ column students.nickname",
            ]
        );
        let back: Vec<String> = diff(&b, &a).iter().map(|c| c.to_string()).collect();
        assert!(
            back.contains(&"- column students.nickname".to_string()),
            "{back:?}"
        );
    }

    #[test]
    fn reordered_columns_are_a_change() {
        let a = schema(vec![students(None)]);
        let mut t = students(None);
        t.columns.reverse();
        let changes = diff(&a, &schema(vec![t]));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].detail.as_deref(),
            Some("column order id, email → email, id")
        );
    }
}
