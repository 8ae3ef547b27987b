//! PostgreSQL's dump for a squash: `pg_dump` in three sections (definitions, the named
//! tables' rows as `INSERT`s, then indexes, constraints and triggers), so rows load before
//! the foreign keys that check them. Cleaned of what belongs to one session or one server:
//! `\restrict` lines, `SET` and `set_config` lines, owners, the comment on an extension
//! (only its owner may set it); `check_function_bodies` becomes `SET LOCAL`, which ends
//! with the baseline's transaction. Every sequence is then set where it stands.

use std::path::Path;
use std::process::Command;

use super::dump::{SchemaDump, lines, rewrite, server_version, starts_with};
use crate::backup::postgres::{Postgres, libpq};
use crate::backup::tools;
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Name;
use crate::sql::Dialect;
use crate::target::DatabaseUrl;

pub struct PostgresDump;

const OUTSIDE: &str = "NOT IN ('pg_catalog', 'information_schema', 'pg_toast')";

impl SchemaDump for PostgresDump {
    fn baseline(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        with_data: &[Name],
        tools: Option<&Path>,
    ) -> Result<String, Error> {
        let [pre, data, post] = self.parts(engine, url, with_data, tools)?;
        Ok(format!("{pre}{data}{post}"))
    }

    fn sections(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        tools: Option<&Path>,
    ) -> Result<(String, String), Error> {
        let [pre, _, post] = self.parts(engine, url, &[], tools)?;
        Ok((pre, post))
    }

    fn facts(&self, engine: &mut dyn Engine) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for query in [
            format!(
                "SELECT 'grant ' || privilege_type || ' on ' || table_schema || '.' || table_name \
                 || ' to ' || grantee FROM information_schema.role_table_grants \
                 WHERE table_schema {OUTSIDE} AND table_name NOT LIKE 'cutover!_%' ESCAPE '!'"
            ),
            format!(
                "SELECT 'sequence ' || schemaname || '.' || sequencename || ' at ' \
                 || coalesce(last_value::text, 'start') FROM pg_sequences WHERE schemaname {OUTSIDE}"
            ),
            format!(
                "SELECT 'routine ' || pg_get_functiondef(p.oid) FROM pg_proc p \
                 JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname {OUTSIDE} AND p.prokind IN ('f', 'p') AND NOT EXISTS \
                 (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
            ),
            "SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
                .to_string(),
            "SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension".to_string(),
            format!(
                "SELECT 'comment ' || c.relname || ' ' || d.description FROM pg_description d \
                 JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname {OUTSIDE}"
            ),
        ] {
            out.extend(lines(engine, &query)?);
        }
        out.sort();
        Ok(out)
    }

    fn rows_sql(&self, table: &Name, _columns: &[String]) -> String {
        format!("SELECT to_jsonb(t)::text FROM {} t", qualified(table))
    }

    fn sample_sql(&self, table: &Name, columns: &[String], limit: u64) -> String {
        let values: Vec<String> = columns
            .iter()
            .map(|c| format!("quote_nullable({})", Dialect::Postgres.quote(c)))
            .collect();
        format!(
            "SELECT concat_ws(', ', {}) FROM {} LIMIT {limit}",
            values.join(", "),
            qualified(table)
        )
    }

    fn insert_sql(&self, table: &Name, columns: &[String]) -> String {
        let names: Vec<String> = columns.iter().map(|c| Dialect::Postgres.quote(c)).collect();
        // Identity columns keep the sampled values.
        format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES",
            qualified(table),
            names.join(", ")
        )
    }

    fn deferred_foreign_key(&self, sql: &str) -> Option<String> {
        (starts_with(sql, "ALTER TABLE") && sql.contains(" FOREIGN KEY "))
            .then(|| format!("{sql} NOT VALID"))
    }
}

impl PostgresDump {
    /// pg_dump's three sections: definitions, the rows of `with_data`, then indexes,
    /// constraints and triggers with every sequence set where it stands.
    fn parts(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        with_data: &[Name],
        tools: Option<&Path>,
    ) -> Result<[String; 3], Error> {
        let server = server_version(engine)?;
        let tool = Postgres::new(tools.map(Path::to_path_buf)).tool("pg_dump", &server)?;
        let dump = |args: &[String]| -> Result<String, Error> {
            let mut cmd = Command::new(&tool.path);
            let uri = libpq(url, &mut cmd)?;
            cmd.args(["--no-owner", "--no-password", "--no-tablespaces"])
                .args(crate::tables::ALL.map(|t| format!("--exclude-table=*.{t}")))
                .args(args)
                .arg(format!("--dbname={uri}"));
            tools::output(&mut cmd, "pg_dump", url)
        };
        let mut pre = String::from("SET LOCAL check_function_bodies = false;\n\n");
        pre.push_str(&clean(&dump(&["--section=pre-data".into()])?)?);
        let mut data = String::new();
        if !with_data.is_empty() {
            let mut args = vec!["--data-only".to_string(), "--column-inserts".to_string()];
            args.extend(
                with_data
                    .iter()
                    .map(|n| format!("--table={}", qualified(n))),
            );
            data.push_str(&clean(&dump(&args)?)?);
        }
        let mut post = clean(&dump(&["--section=post-data".into()])?)?;
        let positions = lines(
            engine,
            &format!(
                "SELECT format('SELECT pg_catalog.setval(%L, %s, true);', \
                 quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value) \
                 FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname {OUTSIDE} \
                 ORDER BY schemaname, sequencename"
            ),
        )?;
        for line in positions {
            post.push_str(&line);
            post.push_str("\n\n");
        }
        Ok([pre, data, post])
    }
}

fn qualified(n: &Name) -> String {
    let q = |s: &str| Dialect::Postgres.quote(s);
    if n.schema.is_empty() {
        q(&n.name)
    } else {
        format!("{}.{}", q(&n.schema), q(&n.name))
    }
}

/// A pg_dump script without its session settings, owners and psql meta-commands.
fn clean(dump: &str) -> Result<String, Error> {
    // `\restrict` and `\unrestrict` (pg_dump 15.14 and later) are psql's, not SQL.
    let sql: String = dump
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .map(|l| format!("{l}\n"))
        .collect();
    rewrite(&sql, Dialect::Postgres, |s| {
        let noise = starts_with(s, "SET ")
            || starts_with(s, "SELECT pg_catalog.set_config")
            || starts_with(s, "SELECT pg_catalog.setval")
            || starts_with(s, "COMMENT ON EXTENSION")
            || (starts_with(s, "ALTER ") && s.contains(" OWNER TO "));
        (!noise).then(|| s.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lines_and_meta_commands_go() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\n\
                    SELECT pg_catalog.set_config('search_path', '', false);\n\
                    CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;\n\
                    COMMENT ON EXTENSION pgcrypto IS 'x';\n\
                    CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    AS $$ select 1 -- hi\n$$;\n\
                    -- Name: t\nCREATE TABLE public.t (id integer);\nALTER TABLE public.t OWNER TO bob;\n\
                    COMMENT ON TABLE public.t IS 'kept';\nINSERT INTO public.t (id) VALUES (1);\n\
                    SELECT pg_catalog.setval('public.s', 2, true);\n\\unrestrict abc\n";
        let out = clean(dump).unwrap();
        for gone in [
            "restrict",
            "SET statement",
            "set_config",
            "OWNER",
            "EXTENSION pgcrypto IS",
            "setval",
            "Name: t",
        ] {
            assert!(!out.contains(gone), "{gone}: {out}");
        }
        for kept in [
            "CREATE EXTENSION",
            "select 1 -- hi\n$$;",
            "CREATE TABLE",
            "IS 'kept'",
            "INSERT INTO",
        ] {
            assert!(out.contains(kept), "{kept}: {out}");
        }
    }
}
