//! The reconciliation's running figures for one table: rows, and per column the NULLs and
//! either a sum (numbers) or an order-free checksum of canonical values (everything else).
//! The source's tally is kept as rows are loaded (and saved with each checkpoint, so a
//! resumed run goes on from it); the target's is counted by reading the table back. Both
//! read each value in the source column's class, so that `0.99` stored as a SQLite REAL and
//! as a PostgreSQL `numeric(10,2)` count the same.

use serde::{Deserialize, Serialize};

use super::value::{Class, Value, canonical_time, from_text, real_text};

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

/// The checksum scheme of `digest`, kept in each run's record (1: CRC-32 and length).
pub const CHECKSUM: u32 = 1;

/// A value's share of its column's checksum: its CRC-32 (crc32fast, with the CPU's carry-less
/// multiply where it has one, where FNV went byte by byte: the load's tallies took ~10% of
/// its CPU with FNV) and its length.
fn digest(bytes: &[u8]) -> u64 {
    u64::from(crc32fast::hash(bytes)) | ((bytes.len() as u64) << 32)
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

    /// Add another tally's rows and figures (a batch's, counted on the reader thread).
    pub fn merge(&mut self, part: &Tally) {
        self.rows += part.rows;
        for (f, p) in self.columns.iter_mut().zip(&part.columns) {
            f.nulls += p.nulls;
            f.int_sum = f.int_sum.wrapping_add(p.int_sum);
            f.float_sum += p.float_sum;
            f.checksum = f.checksum.wrapping_add(p.checksum);
        }
    }

    /// Count one value of column `i` (the row is counted by the caller).
    pub fn add_value_at(&mut self, i: usize, v: &Value, class: &Class) {
        add_value(&mut self.columns[i], v, class);
    }

    /// Count column `i` of a row a server sent as text, read in class `read_as` (the
    /// target's) and counted as `counted_as` (the source's): the same figures as
    /// `from_text` followed by `add`, without building the value for the common classes
    /// (the read-back of a whole table is most of a reconciliation's time).
    pub fn add_text(&mut self, i: usize, text: Option<&str>, read_as: &Class, counted_as: &Class) {
        let f = &mut self.columns[i];
        let Some(t) = text else {
            f.nulls += 1;
            return;
        };
        if read_as == counted_as {
            match counted_as {
                Class::Int => {
                    if let Ok(n) = t.parse::<i64>() {
                        f.int_sum = f.int_sum.wrapping_add(i128::from(n));
                        return;
                    }
                }
                Class::Decimal | Class::Float => {
                    f.float_sum += t.trim().parse::<f64>().unwrap_or(0.0);
                    return;
                }
                Class::Text | Class::Enum | Class::Any | Class::Other(_) => {
                    f.checksum = f.checksum.wrapping_add(digest(t.as_bytes()));
                    return;
                }
                // `canonical_time` once: it leaves its own output as it is.
                Class::Timestamp | Class::TimestampTz | Class::Date | Class::Time => {
                    f.checksum = f
                        .checksum
                        .wrapping_add(digest(canonical_time(t).as_bytes()));
                    return;
                }
                _ => {}
            }
        }
        add_value(f, &from_text(t, read_as), counted_as);
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
        Class::Bytes => f.checksum = f.checksum.wrapping_add(digest(&bytes(v))),
        Class::Timestamp | Class::TimestampTz | Class::Date | Class::Time => {
            let text = v.text().unwrap_or_default();
            f.checksum = f
                .checksum
                .wrapping_add(digest(canonical_time(&text).as_bytes()));
        }
        Class::Char => {
            let t = v.text().unwrap_or_default();
            f.checksum = f
                .checksum
                .wrapping_add(digest(t.trim_end_matches(' ').as_bytes()));
        }
        Class::Uuid => {
            let t = v.text().unwrap_or_default().to_ascii_lowercase();
            f.checksum = f.checksum.wrapping_add(digest(t.as_bytes()));
        }
        _ => {
            let t = match v {
                Value::Real(r) => real_text(*r),
                other => other.text().unwrap_or_default().into_owned(),
            };
            f.checksum = f.checksum.wrapping_add(digest(t.as_bytes()));
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

    /// Counting a server's text directly gives the figures of building the values first.
    #[test]
    fn text_counted_directly_equals_values_counted() {
        let cases: Vec<(Class, Class, Option<&str>)> = vec![
            (Class::Int, Class::Int, Some("42")),
            (Class::Int, Class::Int, Some(" 7 ")),
            (Class::Int, Class::Int, None),
            (Class::Bool, Class::Int, Some("t")),
            (Class::Decimal, Class::Decimal, Some("12.30")),
            (Class::Float, Class::Float, Some("1e300")),
            (Class::Float, Class::Decimal, Some("0.99")),
            (Class::Text, Class::Text, Some("a\tb")),
            (Class::Enum, Class::Enum, Some("PG")),
            (Class::Char, Class::Char, Some("ab  ")),
            (
                Class::Uuid,
                Class::Uuid,
                Some("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            ),
            (
                Class::Timestamp,
                Class::Timestamp,
                Some("2009-01-01T10:00:00.250000+00"),
            ),
            (
                Class::TimestampTz,
                Class::TimestampTz,
                Some("2009-01-01 10:00:00+00"),
            ),
            (Class::Time, Class::Time, Some("10:00:00.000")),
            (Class::Date, Class::Date, Some("2009-01-01")),
            (Class::Bytes, Class::Bytes, Some("\\x00ff")),
            (Class::Timestamp, Class::Text, Some("2009-01-01 10:00:00.5")),
        ];
        for (read_as, counted_as, text) in cases {
            let mut direct = Tally::new(1);
            direct.add_text(0, text, &read_as, &counted_as);
            direct.rows += 1;
            let mut built = Tally::new(1);
            let v = text.map_or(Value::Null, |t| from_text(t, &read_as));
            built.add(&[v], std::slice::from_ref(&counted_as));
            assert_eq!(direct, built, "{read_as:?} as {counted_as:?}: {text:?}");
        }
    }

    #[test]
    fn batches_merged_equal_rows_added() {
        let classes = [Class::Int, Class::Text];
        let rows = [
            [Value::Int(1), Value::Text("a".into())],
            [Value::Int(2), Value::Null],
        ];
        let mut whole = Tally::new(2);
        let mut merged = Tally::new(2);
        for r in &rows {
            whole.add(r, &classes);
            let mut part = Tally::new(2);
            part.add(r, &classes);
            merged.merge(&part);
        }
        assert_eq!(whole, merged);
    }

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
