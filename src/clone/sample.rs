//! `cutover clone --sample ROWS`: at most ROWS rows of each table, closed under the
//! foreign keys. Tables are sampled parents first (foreign-key order); a parent keeps the
//! first ROWS rows in key order, and a child keeps the first ROWS of its rows whose
//! references all point at kept rows (or are NULL). The key values that other tables
//! reference are remembered per table (at most ROWS per table), so nothing else is held.
//!
//! A table in a foreign-key cycle that is sampled before its parent keeps only rows whose
//! reference to that parent is NULL; a self-reference is checked against the rows kept
//! before it in key order.

use std::collections::{BTreeMap, HashSet};

use crate::schema::{Schema, Table};
use crate::transfer::value::{Rows, Value};

/// A key's values as text (an integer and its text compare equal).
type KeyValues = Vec<Option<String>>;

/// Key values kept so far, by table and column list.
#[derive(Debug, Default)]
pub struct Sampler {
    pub limit: u64,
    kept: BTreeMap<(String, Vec<String>), HashSet<KeyValues>>,
    /// Tables sampled so far.
    done: HashSet<String>,
}

/// One foreign key of the table being sampled, by column positions.
struct Reference {
    columns: Vec<usize>,
    parent: (String, Vec<String>),
    /// The parent is sampled after this table (a cycle): only NULL references pass.
    parent_later: bool,
}

/// The filter for one table's rows.
pub struct TableSample {
    limit: u64,
    taken: u64,
    references: Vec<Reference>,
    /// Column lists other tables reference, with their positions: kept rows add their
    /// values.
    remembered: Vec<(Vec<String>, Vec<usize>)>,
    table: String,
}

fn values(row: &[Value], at: &[usize]) -> KeyValues {
    at.iter()
        .map(|i| row[*i].text().map(|t| t.into_owned()))
        .collect()
}

impl Sampler {
    pub fn new(limit: u64) -> Sampler {
        Sampler {
            limit,
            ..Sampler::default()
        }
    }

    /// The filter for `table`, whose batches have `columns`.
    pub fn table(&self, schema: &Schema, table: &Table, columns: &[String]) -> TableSample {
        let at = |names: &[String]| -> Option<Vec<usize>> {
            names
                .iter()
                .map(|n| columns.iter().position(|c| c == n))
                .collect()
        };
        let sampled: HashSet<&str> = schema.tables.iter().map(|t| t.name.name.as_str()).collect();
        let references = table
            .foreign_keys
            .iter()
            .filter(|fk| sampled.contains(fk.references.name.as_str()))
            .filter_map(|fk| {
                let parent = fk.references.name.clone();
                let parent_later = parent != table.name.name && !self.done.contains(&parent);
                Some(Reference {
                    columns: at(&fk.columns)?,
                    parent: (parent, fk.referenced_columns.clone()),
                    parent_later,
                })
            })
            .collect();
        let mut remembered = Vec::new();
        for t in &schema.tables {
            for fk in t
                .foreign_keys
                .iter()
                .filter(|fk| fk.references.name == table.name.name)
            {
                if let Some(pos) = at(&fk.referenced_columns)
                    && !remembered
                        .iter()
                        .any(|(c, _): &(Vec<String>, Vec<usize>)| *c == fk.referenced_columns)
                {
                    remembered.push((fk.referenced_columns.clone(), pos));
                }
            }
        }
        TableSample {
            limit: self.limit,
            taken: 0,
            references,
            remembered,
            table: table.name.name.clone(),
        }
    }

    /// Keep only the rows of `batch` the sample takes; returns false once the table has
    /// its ROWS (the read can stop).
    pub fn filter(&mut self, t: &mut TableSample, batch: &mut Rows) -> bool {
        let mut out = Vec::with_capacity(batch.len());
        for row in batch.drain(..) {
            if t.taken >= t.limit {
                break;
            }
            if !t.references.iter().all(|r| self.points_at_kept(r, &row)) {
                continue;
            }
            for (cols, at) in &t.remembered {
                self.kept
                    .entry((t.table.clone(), cols.clone()))
                    .or_default()
                    .insert(values(&row, at));
            }
            t.taken += 1;
            out.push(row);
        }
        *batch = out;
        t.taken < t.limit
    }

    fn points_at_kept(&self, r: &Reference, row: &[Value]) -> bool {
        let key = values(row, &r.columns);
        if key.iter().any(Option::is_none) {
            return true;
        }
        !r.parent_later && self.kept.get(&r.parent).is_some_and(|k| k.contains(&key))
    }

    /// `table` is sampled: tables after it check their references against what it kept.
    pub fn finish(&mut self, t: &TableSample) {
        self.done.insert(t.table.clone());
    }
}

impl TableSample {
    /// Whether any row may be left out for its references (else a `LIMIT` suffices).
    pub fn filters(&self) -> bool {
        !self.references.is_empty()
    }
}
