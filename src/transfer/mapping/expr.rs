//! The mapping's column expressions: a small language read once, checked against the
//! source and target schemas, and evaluated per row on the values the source sent.
//!
//! ```text
//! expr   := call | column | 'text' | number | null | true | false
//! call   := trim(e) | lower(e) | upper(e) | concat(e, …) | coalesce(e, …) | now()
//!         | cast(e as TYPE) | sql('source-side SQL') | lookup(table.column = e)
//! column := a source column, as `Name` or `source.Name`
//! ```
//!
//! `sql(…)` is computed by the source database (it joins the source query's select list);
//! `lookup(…)` finds the key of the target row whose `column` equals the value (a natural
//! key), batch by batch; everything else is computed here.

use super::super::value::{Class, Value, canonical_time, real_text};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column(String),
    Literal(Value),
    Call(Func, Vec<Expr>),
    Cast(Box<Expr>, Cast),
    /// Source-side SQL, by its position among the query's extra columns once planned.
    Sql(String),
    Lookup {
        table: String,
        column: String,
        value: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Trim,
    Lower,
    Upper,
    Concat,
    Coalesce,
    Now,
}

/// What `cast(e as TYPE)` turns a value into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    Int,
    Real,
    Numeric,
    Text,
    Date,
    Timestamp,
    Bool,
}

impl Cast {
    fn parse(name: &str) -> Option<Cast> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int" | "integer" | "bigint" | "smallint" => Cast::Int,
            "real" | "float" | "double" => Cast::Real,
            "numeric" | "decimal" => Cast::Numeric,
            "text" | "varchar" | "string" => Cast::Text,
            "date" => Cast::Date,
            "timestamp" | "datetime" => Cast::Timestamp,
            "bool" | "boolean" => Cast::Bool,
            _ => return None,
        })
    }

    /// The class of the values a cast makes.
    pub fn class(self) -> Class {
        match self {
            Cast::Int => Class::Int,
            Cast::Real => Class::Float,
            Cast::Numeric => Class::Decimal,
            Cast::Text => Class::Text,
            Cast::Date => Class::Date,
            Cast::Timestamp => Class::Timestamp,
            Cast::Bool => Class::Bool,
        }
    }
}

/// Read `text` as one expression, or say what is wrong with it.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        text,
    };
    let e = p.expr()?;
    p.space();
    if p.i < p.s.len() {
        return Err(format!(
            "unexpected `{}` after the expression",
            &text[p.i..]
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.space();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}` {what}", c as char))
        }
    }

    fn word(&mut self) -> Option<String> {
        self.space();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        (self.i > start).then(|| self.text[start..self.i].to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        // At the opening quote; '' inside is one quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(at) = self.text[self.i..].find('\'') else {
                return Err("a quoted text is not closed".into());
            };
            out.push_str(&self.text[self.i..self.i + at]);
            self.i += at + 1;
            if self.s.get(self.i) == Some(&b'\'') {
                out.push('\'');
                self.i += 1;
            } else {
                return Ok(out);
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.space();
        match self.s.get(self.i) {
            None => Err("an expression is missing".into()),
            Some(b'\'') => Ok(Expr::Literal(Value::Text(self.string()?))),
            Some(c) if c.is_ascii_digit() || *c == b'-' => self.number(),
            Some(_) => {
                let Some(name) = self.word() else {
                    return Err(format!("unexpected `{}`", &self.text[self.i..]));
                };
                if self.eat(b'(') {
                    self.call(&name)
                } else if self.eat(b'.') {
                    let column = self.word().ok_or("expected a column name after `.`")?;
                    if name.eq_ignore_ascii_case("source") {
                        Ok(Expr::Column(column))
                    } else {
                        Err(format!(
                            "`{name}.{column}`: a column of the source is written `{column}` or `source.{column}` (other tables are reached with lookup)"
                        ))
                    }
                } else {
                    Ok(match name.to_ascii_lowercase().as_str() {
                        "null" => Expr::Literal(Value::Null),
                        "true" => Expr::Literal(Value::Int(1)),
                        "false" => Expr::Literal(Value::Int(0)),
                        _ => Expr::Column(name),
                    })
                }
            }
        }
    }

    fn number(&mut self) -> Result<Expr, String> {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_digit() || self.s[self.i] == b'.') {
            self.i += 1;
        }
        let t = &self.text[start..self.i];
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Expr::Literal(Value::Int(n)));
        }
        t.parse::<f64>()
            .map(|f| Expr::Literal(Value::Real(f)))
            .map_err(|_| format!("`{t}` is not a number"))
    }

    fn args(&mut self) -> Result<Vec<Expr>, String> {
        let mut args = Vec::new();
        if self.eat(b')') {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(b')') {
                return Ok(args);
            }
            if !self.eat(b',') {
                return Err("expected `,` or `)` after an argument".into());
            }
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr, String> {
        let lower = name.to_ascii_lowercase();
        let simple = |f: Func, args: Vec<Expr>, n: Option<usize>| match n {
            Some(n) if args.len() != n => Err(format!(
                "{lower}() takes {n} argument(s), not {}",
                args.len()
            )),
            None if args.is_empty() => Err(format!("{lower}() needs at least one argument")),
            _ => Ok(Expr::Call(f, args)),
        };
        match lower.as_str() {
            "trim" => simple(Func::Trim, self.args()?, Some(1)),
            "lower" => simple(Func::Lower, self.args()?, Some(1)),
            "upper" => simple(Func::Upper, self.args()?, Some(1)),
            "concat" => simple(Func::Concat, self.args()?, None),
            "coalesce" => simple(Func::Coalesce, self.args()?, None),
            "now" => simple(Func::Now, self.args()?, Some(0)),
            "cast" => {
                let e = self.expr()?;
                match self.word() {
                    Some(w) if w.eq_ignore_ascii_case("as") => {}
                    _ => return Err("cast needs `as TYPE`: cast(x as int)".into()),
                }
                let ty = self.word().ok_or("cast needs a type after `as`")?;
                let cast = Cast::parse(&ty).ok_or_else(|| {
                    format!("cannot cast to `{ty}`: use int, real, numeric, text, date, timestamp or boolean")
                })?;
                self.expect(b')', "after the cast")?;
                Ok(Expr::Cast(Box::new(e), cast))
            }
            "sql" => {
                self.space();
                if self.s.get(self.i) != Some(&b'\'') {
                    return Err(
                        "sql() takes the source-side SQL as a quoted text: sql('upper(x)')".into(),
                    );
                }
                let sql = self.string()?;
                self.expect(b')', "after sql('…')")?;
                Ok(Expr::Sql(sql))
            }
            "lookup" => {
                let table = self.word().ok_or("lookup needs `table.column = value`")?;
                self.expect(b'.', "in lookup(table.column = value)")?;
                let column = self.word().ok_or("lookup needs `table.column = value`")?;
                self.expect(b'=', "in lookup(table.column = value)")?;
                let value = self.expr()?;
                self.expect(b')', "after the lookup")?;
                Ok(Expr::Lookup {
                    table,
                    column,
                    value: Box::new(value),
                })
            }
            _ => Err(format!(
                "unknown function `{name}`: use trim, lower, upper, concat, coalesce, now, cast, sql or lookup"
            )),
        }
    }
}

impl Expr {
    /// Every source column the expression reads.
    pub fn columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Column(c) => out.push(c),
            Expr::Call(_, args) => args.iter().for_each(|a| a.columns(out)),
            Expr::Cast(e, _) => e.columns(out),
            Expr::Lookup { value, .. } => value.columns(out),
            Expr::Literal(_) | Expr::Sql(_) => {}
        }
    }

    /// Every `sql('…')` in the expression.
    pub fn sqls<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Sql(s) => out.push(s),
            Expr::Call(_, args) => args.iter().for_each(|a| a.sqls(out)),
            Expr::Cast(e, _) => e.sqls(out),
            Expr::Lookup { value, .. } => value.sqls(out),
            Expr::Literal(_) | Expr::Column(_) => {}
        }
    }

    /// The lookup at the top of the expression, if it is one.
    pub fn lookup(&self) -> Option<(&str, &str, &Expr)> {
        match self {
            Expr::Lookup {
                table,
                column,
                value,
            } => Some((table, column, value)),
            _ => None,
        }
    }

    /// Whether the value depends on the time of the run (`now()`).
    pub fn uses_now(&self) -> bool {
        match self {
            Expr::Call(Func::Now, _) => true,
            Expr::Call(_, args) => args.iter().any(Expr::uses_now),
            Expr::Cast(e, _) => e.uses_now(),
            Expr::Lookup { value, .. } => value.uses_now(),
            _ => false,
        }
    }
}

/// What an expression reads a row through: a source column's or an `sql()`'s position.
pub trait Row {
    fn column(&self, name: &str) -> &Value;
    fn sql(&self, sql: &str) -> &Value;
}

/// Evaluate `e` on `row` (lookups are resolved by the caller, batch by batch). `now` is the
/// run's one time stamp.
pub fn eval(e: &Expr, row: &dyn Row, now: &str) -> Result<Value, String> {
    Ok(match e {
        Expr::Column(c) => row.column(c).clone(),
        Expr::Literal(v) => v.clone(),
        Expr::Sql(s) => row.sql(s).clone(),
        Expr::Lookup { value, .. } => eval(value, row, now)?,
        Expr::Cast(inner, to) => cast(eval(inner, row, now)?, *to)?,
        Expr::Call(f, args) => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(eval(a, row, now)?);
            }
            call(*f, values, now)
        }
    })
}

fn text_of(v: &Value) -> Option<String> {
    v.text().map(|t| t.into_owned())
}

fn call(f: Func, mut args: Vec<Value>, now: &str) -> Value {
    let map = |v: &Value, g: &dyn Fn(&str) -> String| {
        text_of(v).map_or(Value::Null, |t| Value::Text(g(&t)))
    };
    match f {
        Func::Trim => map(&args[0], &|t| t.trim().to_string()),
        Func::Lower => map(&args[0], &|t| t.to_lowercase()),
        Func::Upper => map(&args[0], &|t| t.to_uppercase()),
        Func::Concat => Value::Text(args.iter().filter_map(text_of).collect()),
        Func::Coalesce => {
            let at = args.iter().position(|v| *v != Value::Null);
            at.map_or(Value::Null, |i| args.swap_remove(i))
        }
        Func::Now => Value::Text(now.to_string()),
    }
}

fn cast(v: Value, to: Cast) -> Result<Value, String> {
    if v == Value::Null {
        return Ok(v);
    }
    let text = text_of(&v).unwrap_or_default();
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a valid {}",
            format!("{to:?}").to_lowercase()
        )
    };
    Ok(match to {
        Cast::Int => match v {
            Value::Int(_) => v,
            Value::Real(f) if f.fract() == 0.0 => Value::Int(f as i64),
            _ => Value::Int(t.parse().map_err(|_| bad())?),
        },
        Cast::Real | Cast::Numeric => match v {
            Value::Int(_) | Value::Real(_) => v,
            _ => {
                let f: f64 = t.parse().map_err(|_| bad())?;
                if to == Cast::Real {
                    Value::Real(f)
                } else {
                    Value::Text(t.to_string())
                }
            }
        },
        Cast::Text => match v {
            Value::Real(f) => Value::Text(real_text(f)),
            other => Value::Text(text_of(&other).unwrap_or_default()),
        },
        Cast::Date => {
            let d = t.get(..10).filter(|d| valid_date(d)).ok_or_else(bad)?;
            Value::Text(d.to_string())
        }
        Cast::Timestamp => {
            let c = canonical_time(t);
            if !valid_date(c.get(..10).unwrap_or("")) {
                return Err(bad());
            }
            Value::Text(if c.len() == 10 {
                format!("{c} 00:00:00")
            } else {
                c.into_owned()
            })
        }
        Cast::Bool => match t.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "y" | "yes" => Value::Int(1),
            "0" | "f" | "false" | "n" | "no" => Value::Int(0),
            _ => return Err(bad()),
        },
    })
}

/// `YYYY-MM-DD` with a month and a day in range.
fn valid_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    let [y, m, day] = parts.as_slice() else {
        return false;
    };
    let (Ok(_), Ok(m), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    y.len() == 4 && (1..=12).contains(&m) && (1..=31).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(Vec<(&'static str, Value)>);
    impl Row for One {
        fn column(&self, name: &str) -> &Value {
            &self.0.iter().find(|(n, _)| *n == name).unwrap().1
        }
        fn sql(&self, _: &str) -> &Value {
            &Value::Null
        }
    }

    #[test]
    fn expressions_parse_and_evaluate() {
        let row = One(vec![
            ("StudEmail", Value::Text("  Ann.Lee@Example.COM ".into())),
            ("Phone", Value::Null),
            ("Fee", Value::Text("12.50".into())),
            ("Joined", Value::Text("2023-09-01T08:00:00".into())),
        ]);
        let run = |text: &str| eval(&parse(text).unwrap(), &row, "2026-01-01 00:00:00");
        assert_eq!(
            run("lower(trim(source.StudEmail))"),
            Ok(Value::Text("ann.lee@example.com".into()))
        );
        assert_eq!(
            run("coalesce(Phone, 'none')"),
            Ok(Value::Text("none".into()))
        );
        assert_eq!(
            run("coalesce(Phone, now())"),
            Ok(Value::Text("2026-01-01 00:00:00".into()))
        );
        assert_eq!(
            run("concat(upper('a'), '-', Phone, 1)"),
            Ok(Value::Text("A-1".into()))
        );
        assert_eq!(run("cast(Fee as real)"), Ok(Value::Real(12.5)));
        assert_eq!(
            run("cast(Joined as date)"),
            Ok(Value::Text("2023-09-01".into()))
        );
        assert_eq!(
            run("cast(Joined as timestamp)"),
            Ok(Value::Text("2023-09-01 08:00:00".into()))
        );
        assert!(
            run("cast(StudEmail as int)")
                .unwrap_err()
                .contains("is not a valid int")
        );
        let lookup = parse("lookup(students.email = lower(StudEmail))").unwrap();
        assert_eq!(
            lookup.lookup().map(|(t, c, _)| (t, c)),
            Some(("students", "email"))
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("trim(a, b)", "takes 1 argument"),
            ("frobnicate(a)", "unknown function `frobnicate`"),
            ("cast(a as blob)", "cannot cast to `blob`"),
            ("trim(a", "expected `,` or `)`"),
            ("students.email", "reached with lookup"),
            ("'open", "not closed"),
            ("a b", "unexpected `b`"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
