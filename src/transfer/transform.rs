//! A mapping applied to one batch of source rows: each column's expression evaluated, the
//! lookups resolved against the target in one query per lookup, NOT NULL and lengths
//! checked, rows whose key the target (or an earlier row of the batch) already has skipped
//! or turned into updates. A row that fails stops the load, or is rejected to the reject
//! file within the budget, as the mapping says.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use super::endpoint::Endpoint;
use super::mapping::expr::{Row, eval};
use super::mapping::{Mapped, OnError, OnExisting};
use super::plan::TablePlan;
use super::value::{Rows, Value};
use crate::error::Error;

/// What one batch came to.
#[derive(Debug, Default)]
pub struct Applied {
    /// Rows to insert.
    pub rows: Rows,
    /// Updates of rows that exist (`on_existing = "update"`).
    pub updates: Vec<String>,
    /// Rows the target already has by their key (skipped or updated), for the tally.
    pub existing: Rows,
    /// Rows whose key an earlier row of the batch has: skipped (or updating it), and left
    /// out of the tally (the target holds the earlier row).
    pub duplicates: u64,
    pub rejected: u64,
    pub unresolved: u64,
    /// JSON lines for the reject file, written once the batch is committed.
    pub reject_lines: Vec<String>,
}

/// A source row as the expressions read it.
pub(super) struct Source<'a> {
    pub values: &'a [Value],
    pub m: &'a Mapped,
}

impl Row for Source<'_> {
    fn column(&self, name: &str) -> &Value {
        let i = self.m.reads.iter().position(|r| r == name);
        i.and_then(|i| self.values.get(i)).unwrap_or(&Value::Null)
    }

    fn sql(&self, sql: &str) -> &Value {
        let i = self.m.sqls.iter().position(|s| s == sql);
        i.and_then(|i| self.values.get(self.m.reads.len() + i))
            .unwrap_or(&Value::Null)
    }
}

/// How many values go into one `IN (…)`.
const PROBE: usize = 500;

pub(super) fn key_text(row: &[Value], key: &[usize]) -> String {
    key.iter()
        .map(|&k| row[k].text().map(|t| t.into_owned()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Apply the mapping of `p` to `batch`. `rejected` is the table's count so far (the budget).
pub fn apply(
    p: &TablePlan,
    m: &Mapped,
    batch: Rows,
    to: &mut dyn Endpoint,
    now: &str,
    rejected: u64,
) -> Result<Applied, Error> {
    let mut out = Applied::default();
    let mut made: Vec<(usize, Vec<Value>)> = Vec::new();
    let mut failed: Vec<(usize, usize, String)> = Vec::new();
    for (i, values) in batch.iter().enumerate() {
        let src = Source { values, m };
        let mut row = Vec::with_capacity(m.exprs.len());
        let mut bad = None;
        for (j, e) in m.exprs.iter().enumerate() {
            match eval(e, &src, now) {
                Ok(v) => row.push(v),
                Err(why) => {
                    bad = Some((j, why));
                    break;
                }
            }
        }
        match bad {
            Some((j, why)) => failed.push((i, j, why)),
            None => made.push((i, row)),
        }
    }
    resolve_lookups(p, m, &mut made, &mut failed, &mut out, to)?;
    check_values(p, m, &mut made, &mut failed);
    if !failed.is_empty() {
        failed.sort();
        fail(p, m, &batch, &failed, rejected, &mut out)?;
    }
    split_existing(p, m, made, to, &mut out)?;
    Ok(out)
}

/// Each lookup column's values found in the target, one query per lookup and chunk.
fn resolve_lookups(
    p: &TablePlan,
    m: &Mapped,
    made: &mut Vec<(usize, Vec<Value>)>,
    failed: &mut Vec<(usize, usize, String)>,
    out: &mut Applied,
    to: &mut dyn Endpoint,
) -> Result<(), Error> {
    for (j, lookup) in m.lookups.iter().enumerate() {
        let Some(l) = lookup else { continue };
        let wanted: Vec<Value> = made
            .iter()
            .map(|(_, r)| r[j].clone())
            .filter(|v| *v != Value::Null)
            .collect::<Vec<_>>();
        let mut found: HashMap<String, Value> = HashMap::new();
        let mut distinct: Vec<Value> = Vec::new();
        let mut seen = HashSet::new();
        for v in wanted {
            if seen.insert(v.text().map(|t| t.into_owned()).unwrap_or_default()) {
                distinct.push(v);
            }
        }
        for chunk in distinct.chunks(PROBE) {
            let list: Vec<String> = chunk.iter().map(|v| to.literal(v)).collect();
            let sql = format!(
                "SELECT {}, {} FROM {} WHERE {} IN ({})",
                l.column,
                l.key,
                l.table,
                l.column,
                list.join(", ")
            );
            let classes = [super::value::Class::Text, super::value::Class::Int];
            to.read(&sql, &classes, 10_000, &mut |rows| {
                for r in rows {
                    let k = r[0].text().map(|t| t.into_owned()).unwrap_or_default();
                    found.insert(k, r[1].clone());
                }
                true
            })
            .map_err(|e| Error::Database {
                context: format!("{}: lookup {} on the target", p.name, l.name),
                source: e,
            })?;
        }
        made.retain_mut(|(i, row)| {
            if row[j] == Value::Null {
                return true;
            }
            let k = row[j].text().map(|t| t.into_owned()).unwrap_or_default();
            match found.get(&k) {
                Some(key) => {
                    row[j] = key.clone();
                    true
                }
                None if !m.not_null[j] => {
                    out.unresolved += 1;
                    row[j] = Value::Null;
                    true
                }
                None => {
                    failed.push((*i, j, format!("lookup {} = '{k}' found nothing", l.name)));
                    false
                }
            }
        });
    }
    Ok(())
}

/// NOT NULL and text lengths, as the target column has them.
fn check_values(
    p: &TablePlan,
    m: &Mapped,
    made: &mut Vec<(usize, Vec<Value>)>,
    failed: &mut Vec<(usize, usize, String)>,
) {
    made.retain(|(i, row)| {
        for (j, v) in row.iter().enumerate() {
            let why = match (v, m.max_len[j]) {
                (Value::Null, _) if m.not_null[j] => Some(format!(
                    "NULL for {}.{}, which is NOT NULL",
                    p.name, p.columns[j]
                )),
                (Value::Text(t), Some(n)) if t.chars().count() > n => Some(format!(
                    "{} characters for {}.{}, which holds {n}",
                    t.chars().count(),
                    p.name,
                    p.columns[j]
                )),
                _ => None,
            };
            if let Some(why) = why {
                failed.push((*i, j, why));
                return false;
            }
        }
        true
    });
}

/// A source row for messages: its read columns and values.
pub(super) fn describe(m: &Mapped, values: &[Value]) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    for (name, v) in m.reads.iter().zip(values) {
        let j = match v {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => (*i).into(),
            Value::Real(f) => (*f).into(),
            other => other
                .text()
                .map(|t| t.into_owned())
                .unwrap_or_default()
                .into(),
        };
        o.insert(name.clone(), j);
    }
    serde_json::Value::Object(o)
}

/// Failed rows: stop at the first, or reject them within the budget.
fn fail(
    p: &TablePlan,
    m: &Mapped,
    batch: &Rows,
    failed: &[(usize, usize, String)],
    rejected: u64,
    out: &mut Applied,
) -> Result<(), Error> {
    let (i, j, why) = &failed[0];
    let what = format!(
        "{} (from {}): {why}; source row {}",
        p.columns[*j],
        m.lines[*j],
        describe(m, &batch[*i])
    );
    if m.on_error == OnError::Stop {
        return Err(Error::Refused {
            message: format!("{}: a row failed, and the mapping stops on failure: {what}", p.name),
            hint: "fix the source row, or set on_error = \"reject\" (with max_rejects) for this table in the mapping".into(),
        });
    }
    let total = rejected + failed.len() as u64;
    if let Some(max) = m.max_rejects
        && total > max
    {
        return Err(Error::Refused {
            message: format!(
                "{}: {total} rows rejected, more than max_rejects = {max}; the last batch was not loaded. First: {what}",
                p.name
            ),
            hint: format!("the rejected rows are in {}", m.reject_file.display()),
        });
    }
    for (i, j, why) in failed {
        let line = serde_json::json!({
            "table": p.name,
            "column": p.columns[*j],
            "mapping": m.lines[*j],
            "reason": why,
            "row": describe(m, &batch[*i]),
        });
        out.reject_lines.push(line.to_string());
    }
    out.rejected = failed.len() as u64;
    Ok(())
}

/// Rows whose key the target has (or an earlier row of this batch has) are skipped or
/// become updates; the rest are inserted.
fn split_existing(
    p: &TablePlan,
    m: &Mapped,
    made: Vec<(usize, Vec<Value>)>,
    to: &mut dyn Endpoint,
    out: &mut Applied,
) -> Result<(), Error> {
    if m.key.is_empty() {
        out.rows = made.into_iter().map(|(_, r)| r).collect();
        return Ok(());
    }
    let there = existing_keys(p, m, &made, to)?;
    let mut batch_keys = HashSet::new();
    for (_, row) in made {
        let k = key_text(&row, &m.key);
        let in_target = there.contains(&k);
        if !in_target && batch_keys.insert(k) {
            out.rows.push(row);
            continue;
        }
        if m.on_existing == OnExisting::Update
            && let Some(sql) = update(p, m, &row, to)
        {
            out.updates.push(sql);
        }
        if in_target {
            out.existing.push(row);
        } else {
            out.duplicates += 1;
        }
    }
    Ok(())
}

fn existing_keys(
    p: &TablePlan,
    m: &Mapped,
    made: &[(usize, Vec<Value>)],
    to: &mut dyn Endpoint,
) -> Result<HashSet<String>, Error> {
    let cols: Vec<&str> = m.key.iter().map(|&k| p.into.columns[k].as_str()).collect();
    let mut there = HashSet::new();
    for chunk in made.chunks(PROBE) {
        let tuples: Vec<String> = chunk
            .iter()
            .map(|(_, r)| {
                let vals: Vec<String> = m.key.iter().map(|&k| to.literal(&r[k])).collect();
                format!("({})", vals.join(", "))
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE ({}) IN ({})",
            cols.join(", "),
            p.into.table,
            cols.join(", "),
            tuples.join(", ")
        );
        let classes = vec![super::value::Class::Text; cols.len()];
        to.read(&sql, &classes, 10_000, &mut |rows| {
            for r in rows {
                let all: Vec<usize> = (0..r.len()).collect();
                there.insert(key_text(&r, &all));
            }
            true
        })
        .map_err(|e| Error::Database {
            context: format!("{}: looking for rows already there by the key", p.name),
            source: e,
        })?;
    }
    Ok(there)
}

/// The `UPDATE` of a row that exists; none when every mapped column is in the key.
fn update(p: &TablePlan, m: &Mapped, row: &[Value], to: &dyn Endpoint) -> Option<String> {
    let set: Vec<String> = (0..row.len())
        .filter(|j| !m.key.contains(j))
        .map(|j| format!("{} = {}", p.into.columns[j], to.literal(&row[j])))
        .collect();
    let by: Vec<String> = m
        .key
        .iter()
        .map(|&k| format!("{} = {}", p.into.columns[k], to.literal(&row[k])))
        .collect();
    (!set.is_empty()).then(|| {
        format!(
            "UPDATE {} SET {} WHERE {}",
            p.into.table,
            set.join(", "),
            by.join(" AND ")
        )
    })
}

/// Append the batch's rejected rows to the reject file.
pub fn write_rejects(m: &Mapped, lines: &[String]) -> Result<(), Error> {
    if lines.is_empty() {
        return Ok(());
    }
    let io = |source| Error::Io {
        path: m.reject_file.clone(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&m.reject_file)
        .map_err(io)?;
    for l in lines {
        writeln!(f, "{l}").map_err(io)?;
    }
    Ok(())
}
