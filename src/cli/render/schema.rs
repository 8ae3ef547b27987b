//! `schema` and `diff` for people: one block per table, one line per difference.

use std::fmt::Write as _;

use anstream::print;
use cutover::drift::DiffReport;
use cutover::schema::{ChangeKind, Schema, Table};

use super::{BOLD, DIM, GREEN, RED, Renderer, YELLOW};

impl Renderer {
    pub fn schema(&self, s: &Schema) {
        if self.json {
            let mut value = serde_json::to_value(s).expect("a schema serialises");
            value["fingerprint"] = s.fingerprint().into();
            return self.json(&value);
        }
        if self.quiet {
            return;
        }
        let mut out = String::new();
        for t in &s.tables {
            table(&mut out, s, t);
        }
        for v in &s.views {
            let kind = if v.materialized {
                "materialized view"
            } else {
                "view"
            };
            let _ = writeln!(
                out,
                "{BOLD}{kind} {}{BOLD:#}",
                v.name.display(&s.default_schema)
            );
            let _ = writeln!(out, "  {DIM}{}{DIM:#}\n", one_line(&v.definition));
        }
        for e in &s.enums {
            let name = e.name.display(&s.default_schema);
            let _ = writeln!(out, "{BOLD}enum {name}{BOLD:#} ({})", e.values.join(", "));
        }
        for q in &s.sequences {
            let name = q.name.display(&s.default_schema);
            let _ = writeln!(
                out,
                "{BOLD}sequence {name}{BOLD:#} {} start {} increment {}",
                q.data_type, q.start, q.increment
            );
        }
        let _ = writeln!(
            out,
            "\n{} tables, {} foreign keys, {} views · fingerprint {}",
            s.tables.len(),
            s.foreign_key_count(),
            s.views.len(),
            s.fingerprint()
        );
        print!("{out}");
    }

    pub fn diff(&self, r: &DiffReport) {
        if self.json {
            return self.json(r);
        }
        if self.quiet {
            return;
        }
        let mut out = String::new();
        let _ = writeln!(out, "{DIM}from {} ({}){DIM:#}", r.from, r.from_fingerprint);
        let _ = writeln!(out, "{DIM}to   {} ({}){DIM:#}", r.to, r.to_fingerprint);
        if r.changes.is_empty() {
            let _ = writeln!(out, "{GREEN}no differences{GREEN:#}");
        }
        for c in &r.changes {
            let style = match c.kind {
                ChangeKind::Added => GREEN,
                ChangeKind::Removed => RED,
                ChangeKind::Changed => YELLOW,
            };
            let _ = writeln!(out, "{style}{}{style:#}", self.scrub(&c.to_string()));
        }
        if !r.changes.is_empty() {
            let _ = writeln!(out, "\n{} difference(s)", r.changes.len());
        }
        print!("{out}");
    }
}

fn table(out: &mut String, s: &Schema, t: &Table) {
    let ds = &s.default_schema;
    let _ = writeln!(out, "{BOLD}table {}{BOLD:#}", t.name.display(ds));
    let width = t.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &t.columns {
        let mut line = format!("  {:<width$}  {}", c.name, c.data_type);
        if !c.nullable {
            line.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            let _ = write!(line, " DEFAULT {d}");
        }
        if let Some(g) = &c.generated {
            let _ = write!(line, " {DIM}({g}){DIM:#}");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(pk) = &t.primary_key {
        let _ = writeln!(out, "  primary key ({})", pk.columns.join(", "));
    }
    for k in &t.uniques {
        let _ = writeln!(out, "  unique ({})", k.columns.join(", "));
    }
    for f in &t.foreign_keys {
        let invalid = if f.validated { "" } else { " NOT VALID" };
        let _ = writeln!(
            out,
            "  foreign key ({}) → {} ({}) on delete {} on update {}{invalid}",
            f.columns.join(", "),
            f.references.display(ds),
            f.referenced_columns.join(", "),
            f.on_delete.as_str(),
            f.on_update.as_str()
        );
    }
    for i in &t.indexes {
        let unique = if i.unique { "unique " } else { "" };
        let mut line = format!("  {unique}index {} ({})", i.name, i.columns.join(", "));
        if let Some(p) = &i.predicate {
            let _ = write!(line, " WHERE {p}");
        }
        let _ = writeln!(out, "{line}");
    }
    for c in &t.checks {
        let _ = writeln!(out, "  check {}", one_line(&c.expression));
    }
    out.push('\n');
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
