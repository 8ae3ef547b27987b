//! The reconciliation's running figures for one table: rows, and per column the NULLs and
//! either a sum (numbers) or an order-free checksum of canonical values (everything else).
//! The source's tally is kept as rows are loaded (and saved with each checkpoint, so a
//! resumed run goes on from it); the target's is counted by reading the table back. Both
//! read each value in the source column's class, so that `0.99` stored as a SQLite REAL and
//! as a PostgreSQL `numeric(10,2)` count the same.

use serde::{Deserialize, Serialize};

use super::value::{Class, Value, canonical_time, real_text};

/// One column's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub nulls: u64,
    /// Sum of integer values (as text in JSON: an `i128` does not fit every JSON reader).
    #[serde(with = "as_text")]
    pub int_sum: i128,
    pub float_sum: f64,
    /// Wrapping sum of each value's FNV-1a hash: the same whatever order rows come in.
    pub checksum: u64,
}

/// A table's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Rows that are in the target by this run: loaded, or (a mapping's) found there by
    /// their key.
    pub rows: u64,
    pub columns: Vec<Figures>,
    /// Source rows read so far (where a resumed run starts).
    #[serde(default)]
    pub read: u64,
    /// A mapping's rows rejected, already there (skipped or updated), and lookups that found
    /// nothing (a NULL written).
    #[serde(default)]
    pub rejected: u64,
    #[serde(default)]
    pub existing: u64,
    #[serde(default)]
    pub unresolved: u64,
    #[serde(default)]
    pub duplicates: u64,
    #[serde(default)]
    pub updated: u64,
}

mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&n.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Tally {
    pub fn new(columns: usize) -> Tally {
        Tally {
            columns: vec![Figures::default(); columns],
            ..Tally::default()
        }
    }

    /// Count one row, each value read in its source column's class.
    pub fn add(&mut self, row: &[Value], classes: &[Class]) {
        self.rows += 1;
        for ((v, class), f) in row.iter().zip(classes).zip(&mut self.columns) {
            add_value(f, v, class);
        }
    }

    /// The columns whose figures differ from `other`'s, by index, with a reason; a column
    /// not `compared` has only its NULLs compared.
    pub fn differences(
        &self,
        other: &Tally,
        classes: &[Class],
        compared: &[bool],
    ) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, ((a, b), class)) in self
            .columns
            .iter()
            .zip(&other.columns)
            .zip(classes)
            .enumerate()
        {
            if a.nulls != b.nulls {
                out.push((
                    i,
                    format!("{} NULLs in the source, {} in the target", a.nulls, b.nulls),
                ));
            } else if !compared.get(i).copied().unwrap_or(true) {
                continue;
            } else if a.int_sum != b.int_sum {
                out.push((
                    i,
                    format!(
                        "sum {} in the source, {} in the target",
                        a.int_sum, b.int_sum
                    ),
                ));
            } else if !close(a.float_sum, b.float_sum) {
                out.push((
                    i,
                    format!(
                        "sum {} in the source, {} in the target",
                        a.float_sum, b.float_sum
                    ),
                ));
            } else if a.checksum != b.checksum && *class != Class::Json {
                out.push((
                    i,
                    format!(
                        "checksum {:016x} in the source, {:016x} in the target",
                        a.checksum, b.checksum
                    ),
                ));
            }
        }
        out
    }
}

/// Float sums agree to a relative 1e-9 (summing order and binary fractions differ).
fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn add_value(f: &mut Figures, v: &Value, class: &Class) {
    if *v == Value::Null {
        f.nulls += 1;
        return;
    }
    match class {
        Class::Int | Class::Bool => {
            let n: i128 = match v {
                Value::Int(i) => i128::from(*i),
                Value::Real(r) => *r as i128,
                other => other
                    .text()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0),
            };
            f.int_sum = f.int_sum.wrapping_add(n);
        }
        Class::Decimal | Class::Float => {
            f.float_sum += match v {
                Value::Int(i) => *i as f64,
                Value::Real(r) => *r,
                other => other
                    .text()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0.0),
            };
        }
        // jsonb rewrites documents (key order, spaces): only NULLs are compared.
        Class::Json => {}
        Class::Bytes => f.checksum = f.checksum.wrapping_add(fnv(&bytes(v))),
        Class::Timestamp | Class::TimestampTz | Class::Date | Class::Time => {
            let t = canonical_time(&v.text().unwrap_or_default());
            f.checksum = f.checksum.wrapping_add(fnv(t.as_bytes()));
        }
        Class::Char => {
            let t = v.text().unwrap_or_default();
            f.checksum = f
                .checksum
                .wrapping_add(fnv(t.trim_end_matches(' ').as_bytes()));
        }
        Class::Uuid => {
            let t = v.text().unwrap_or_default().to_ascii_lowercase();
            f.checksum = f.checksum.wrapping_add(fnv(t.as_bytes()));
        }
        _ => {
            let t = match v {
                Value::Real(r) => real_text(*r),
                other => other.text().unwrap_or_default().into_owned(),
            };
            f.checksum = f.checksum.wrapping_add(fnv(t.as_bytes()));
        }
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b.clone(),
        other => other.text().unwrap_or_default().as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_values_in_another_order_and_form_tally_the_same() {
        let classes = [Class::Decimal, Class::Timestamp, Class::Text, Class::Int];
        let mut a = Tally::new(4);
        a.add(
            &[
                Value::Real(0.99),
                Value::Text("2009-01-01 00:00:00".into()),
                Value::Text("x".into()),
                Value::Int(3),
            ],
            &classes,
        );
        a.add(
            &[
                Value::Null,
                Value::Text("2010-01-01 00:00:00".into()),
                Value::Text("y".into()),
                Value::Int(4),
            ],
            &classes,
        );
        let mut b = Tally::new(4);
        b.add(
            &[
                Value::Null,
                Value::Text("2010-01-01T00:00:00.000".into()),
                Value::Text("y".into()),
                Value::Text("4".into()),
            ],
            &classes,
        );
        b.add(
            &[
                Value::Text("0.99".into()),
                Value::Text("2009-01-01 00:00:00".into()),
                Value::Text("x".into()),
                Value::Int(3),
            ],
            &classes,
        );
        assert_eq!(a.differences(&b, &classes, &[true; 4]), vec![]);
        b.add(
            &[
                Value::Null,
                Value::Null,
                Value::Text("z".into()),
                Value::Int(1),
            ],
            &classes,
        );
        let diffs = a.differences(&b, &classes, &[true; 4]);
        assert_eq!(
            diffs.iter().map(|d| d.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3],
            "{diffs:?}"
        );
    }
}
