//! Quality checks on the source, before a mapping loads (and alone with `--check-only`):
//! every row read through the mapping's expressions, then counted against what the target
//! will demand — values that cannot be computed, NULLs for NOT NULL columns, texts longer
//! than their column, values that miss a pattern, duplicates of the unique key after the
//! expressions, and lookups that will find nothing (in the target as it is, or among the
//! rows the mapping loads before). Each check gives a count and the first rows, in
//! `validate`'s check/evidence form, so the same reports render it; a count above the
//! table's threshold fails, up to it warns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use super::endpoint::Endpoint;
use super::mapping::Mapped;
use super::mapping::expr::eval;
use super::plan::TablePlan;
use super::transform::{Source, describe, key_text};
use super::value::{Class, Value};
use crate::error::Error;
use crate::verdict::{Category, CheckResult, Evidence, SAMPLE_ROWS, Status};

/// One check's findings: how many rows, and the first few.
#[derive(Default)]
struct Found {
    count: u64,
    rows: Vec<Vec<String>>,
}

impl Found {
    fn add(&mut self, row: Vec<String>) {
        self.count += 1;
        if self.rows.len() < SAMPLE_ROWS {
            self.rows.push(row);
        }
    }
}

fn text(v: &Value) -> String {
    v.text().map(|t| t.into_owned()).unwrap_or_default()
}

/// Values of `table.column` that lookups will find: the target's, and those the mapping
/// loads there first.
type Known = HashMap<String, HashSet<String>>;

/// Run the checks of every mapped table, in load order.
pub fn check(
    plans: &[TablePlan],
    from: &mut dyn Endpoint,
    to: &mut dyn Endpoint,
    now: &str,
    batch: usize,
) -> Result<Vec<CheckResult>, Error> {
    let wanted: HashSet<String> = plans
        .iter()
        .filter_map(|p| p.mapped.as_ref())
        .flat_map(|m| m.lookups.iter().flatten().map(|l| l.name.clone()))
        .collect();
    let mut known: Known = HashMap::new();
    for p in plans.iter().filter(|p| p.mapped.is_some()) {
        for l in p.mapped.iter().flat_map(|m| m.lookups.iter().flatten()) {
            if known.contains_key(&l.name) {
                continue;
            }
            let mut values = HashSet::new();
            let sql = format!("SELECT {} FROM {}", l.column, l.table);
            to.read(&sql, &[Class::Text], batch, &mut |rows| {
                values.extend(rows.iter().map(|r| text(&r[0])));
                true
            })
            .map_err(|e| Error::Database {
                context: format!("reading {} for the lookup checks", l.name),
                source: e,
            })?;
            known.insert(l.name.clone(), values);
        }
    }
    let mut out = Vec::new();
    for p in plans {
        let Some(m) = &p.mapped else { continue };
        out.extend(table(p, m, from, now, batch, &wanted, &mut known)?);
    }
    Ok(out)
}

fn table(
    p: &TablePlan,
    m: &Mapped,
    from: &mut dyn Endpoint,
    now: &str,
    batch: usize,
    wanted: &HashSet<String>,
    known: &mut Known,
) -> Result<Vec<CheckResult>, Error> {
    let clock = Instant::now();
    let mut found: BTreeMap<&str, Found> = BTreeMap::new();
    let mut keys: HashMap<String, (u64, String)> = HashMap::new();
    let mut produced: Known = HashMap::new();
    let mut lookups: Vec<(usize, String, HashMap<String, String>)> = Vec::new();
    for (j, l) in m.lookups.iter().enumerate() {
        if let Some(l) = l {
            lookups.push((j, l.name.clone(), HashMap::new()));
        }
    }
    let mut rows_read = 0u64;
    from.read(&p.select, &p.source_classes, batch, &mut |rows| {
        for values in &rows {
            rows_read += 1;
            let row = Source { values, m };
            let who = describe(m, values).to_string();
            let mut made = Vec::with_capacity(m.exprs.len());
            for (j, e) in m.exprs.iter().enumerate() {
                match eval(e, &row, now) {
                    Ok(v) => made.push(v),
                    Err(why) => {
                        found.entry("conversion").or_default().add(vec![
                            p.columns[j].clone(),
                            why,
                            who.clone(),
                        ]);
                        made.clear();
                        break;
                    }
                }
            }
            if made.is_empty() && !m.exprs.is_empty() {
                continue;
            }
            one_row(p, m, &made, &who, &mut found);
            if !m.key.is_empty() {
                let k = key_text(&made, &m.key);
                let e = keys.entry(k).or_insert((0, who.clone()));
                e.0 += 1;
            }
            for (j, _, seen) in &mut lookups {
                if made[*j] != Value::Null {
                    seen.entry(text(&made[*j])).or_insert_with(|| who.clone());
                }
            }
            for (j, c) in p.columns.iter().enumerate() {
                let name = format!("{}.{c}", p.name);
                if wanted.contains(&name) {
                    produced.entry(name).or_default().insert(text(&made[j]));
                }
            }
        }
        true
    })
    .map_err(|e| Error::Database {
        context: format!("reading the source of {} for the quality checks", p.name),
        source: e,
    })?;
    let dups = found.entry("duplicates").or_default();
    for (k, (n, who)) in &keys {
        if *n > 1 {
            for _ in 1..*n {
                dups.count += 1;
            }
            if dups.rows.len() < SAMPLE_ROWS {
                dups.rows
                    .push(vec![k.replace('\u{1f}', ", "), n.to_string(), who.clone()]);
            }
        }
    }
    for (_, name, seen) in &lookups {
        let there = known.get(name);
        let orphans = found.entry("orphans").or_default();
        for (value, who) in seen {
            if !there.is_some_and(|t| t.contains(value)) {
                orphans.add(vec![name.clone(), value.clone(), who.clone()]);
            }
        }
    }
    for (name, values) in produced {
        known.entry(name).or_default().extend(values);
    }
    Ok(results(p, m, found, rows_read, clock))
}

/// NOT NULL, lengths and patterns of one computed row.
fn one_row(
    p: &TablePlan,
    m: &Mapped,
    made: &[Value],
    who: &str,
    found: &mut BTreeMap<&str, Found>,
) {
    for (j, v) in made.iter().enumerate() {
        let col = &p.columns[j];
        if *v == Value::Null && m.not_null[j] {
            found
                .entry("not_null")
                .or_default()
                .add(vec![col.clone(), who.to_string()]);
        }
        if let (Value::Text(t), Some(n)) = (v, m.max_len[j])
            && t.chars().count() > n
        {
            let len = format!("{} > {n}", t.chars().count());
            found
                .entry("length")
                .or_default()
                .add(vec![col.clone(), len, who.to_string()]);
        }
    }
    for (j, pattern, re) in &m.patterns {
        let v = &made[*j];
        if *v != Value::Null && !re.is_match(&text(v)) {
            found.entry("pattern").or_default().add(vec![
                p.columns[*j].clone(),
                text(v),
                pattern.clone(),
            ]);
        }
    }
}

/// One check per kind that applies to the table.
fn results(
    p: &TablePlan,
    m: &Mapped,
    mut found: BTreeMap<&str, Found>,
    rows_read: u64,
    clock: Instant,
) -> Vec<CheckResult> {
    let key: Vec<&str> = m.key.iter().map(|&k| p.columns[k].as_str()).collect();
    let kinds: Vec<(&str, String, Vec<&str>)> = [
        Some((
            "conversion",
            "values that cannot be computed".to_string(),
            vec!["column", "reason", "source row"],
        )),
        Some((
            "not_null",
            "NULLs for NOT NULL columns".into(),
            vec!["column", "source row"],
        )),
        Some((
            "length",
            "texts longer than their column".into(),
            vec!["column", "length", "source row"],
        )),
        (!m.patterns.is_empty()).then(|| {
            (
                "pattern",
                "values that miss their pattern".into(),
                vec!["column", "value", "pattern"],
            )
        }),
        (!key.is_empty()).then(|| {
            (
                "duplicates",
                format!(
                    "duplicates of the key ({}) after the expressions",
                    key.join(", ")
                ),
                vec!["key", "rows", "first source row"],
            )
        }),
        m.lookups.iter().any(Option::is_some).then(|| {
            (
                "orphans",
                "lookups that will find nothing".into(),
                vec!["lookup", "value", "source row"],
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    kinds
        .into_iter()
        .map(|(kind, what, columns)| {
            let f = found.remove(kind).unwrap_or_default();
            let threshold = m.thresholds.get(kind).copied().unwrap_or(0);
            let status = match f.count {
                0 => Status::Pass,
                n if n <= threshold => Status::Warn,
                _ => Status::Fail,
            };
            let message = format!(
                "{}: {} of {rows_read} source row(s) with {what}{}",
                p.name,
                f.count,
                if threshold > 0 {
                    format!(" (threshold {threshold})")
                } else {
                    String::new()
                }
            );
            let mut result = CheckResult::new(
                format!("transfer.{}.{kind}", p.name),
                Category::Integrity,
                status,
                message,
            );
            if f.count > 0 {
                result = result.with_evidence(Evidence {
                    columns: columns.into_iter().map(str::to_string).collect(),
                    rows: f.rows,
                    ..Evidence::default()
                });
            }
            result.since(clock)
        })
        .collect()
}
