//! MariaDB/MySQL's dump for a squash: `mariadb-dump --no-data` with routines and triggers
//! (and `--no-create-info` for the named tables' rows), cleaned of what belongs to one
//! session or one server: the `SET` lines and version comments that set them, and every
//! `DEFINER`, so the objects belong to whoever applies the baseline. `AUTO_INCREMENT`
//! table options stay: counters continue where they were. The script runs with foreign key
//! checks off, as mariadb-dump's own dumps do (it writes tables in name order), and switches
//! them back on at its end.

use std::path::Path;
use std::process::Command;

use super::dump::{SchemaDump, insert, lines, quoted_rows, rewrite, server_version, starts_with};
use crate::backup::mysql::{MySql, options_file};
use crate::backup::tools;
use crate::engine::Engine;
use crate::error::Error;
use crate::schema::Name;
use crate::sql::Dialect;
use crate::target::DatabaseUrl;

pub struct MySqlDump;

impl SchemaDump for MySqlDump {
    fn baseline(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        with_data: &[Name],
        tools: Option<&Path>,
    ) -> Result<String, Error> {
        let server = server_version(engine)?;
        let (tool, _) = MySql::new(tools.map(Path::to_path_buf)).tools(&server)?;
        let db = url
            .database()
            .ok_or_else(|| Error::Usage(format!("{url} names no database")))?;
        // `mariadb-dump [options] db [tables]`.
        let dump = |args: &[String], tables: &[String]| -> Result<String, Error> {
            let options = options_file(url)?;
            let mut cmd = Command::new(&tool.path);
            options.pass_to(&mut cmd);
            cmd.arg(format!("--defaults-extra-file={}", options.path()))
                .args(["--compact", "--skip-dump-date", "--skip-tz-utc"])
                .args(args)
                .arg(&db)
                .args(tables);
            tools::output(&mut cmd, &tool.name, url)
        };
        let mut args: Vec<String> = ["--no-data", "--routines", "--triggers"]
            .map(String::from)
            .to_vec();
        args.extend(crate::tables::ALL.map(|t| format!("--ignore-table={db}.{t}")));
        // mariadb-dump writes tables in name order, before the tables their foreign keys
        // name: its own dumps switch the checks off, and so does the baseline, until its end.
        let mut script = String::from("SET SESSION foreign_key_checks = 0;\n\n");
        script.push_str(&clean(&dump(&args, &[])?)?);
        if !with_data.is_empty() {
            let args: Vec<String> = ["--no-create-info", "--skip-triggers", "--complete-insert"]
                .map(String::from)
                .to_vec();
            let tables: Vec<String> = with_data.iter().map(|n| n.name.clone()).collect();
            script.push_str(&clean(&dump(&args, &tables)?)?);
        }
        script.push_str("SET SESSION foreign_key_checks = 1;\n");
        Ok(script)
    }

    /// Triggers come after the rows: a clone's load must not fire them.
    fn sections(
        &self,
        engine: &mut dyn Engine,
        url: &DatabaseUrl,
        tools: Option<&Path>,
    ) -> Result<(String, String), Error> {
        let script = self.baseline(engine, url, &[], tools)?;
        let pre = rewrite(&script, Dialect::MySql, |s| {
            (!is_trigger(s)).then(|| s.to_string())
        })?;
        let post = rewrite(&script, Dialect::MySql, |s| {
            is_trigger(s).then(|| s.to_string())
        })?;
        Ok((pre, post))
    }

    fn facts(&self, engine: &mut dyn Engine) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for query in [
            "SELECT CONCAT('auto_increment ', TABLE_NAME, ' ', COALESCE(AUTO_INCREMENT, '-')) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME NOT LIKE 'cutover!_%' ESCAPE '!'",
            "SELECT CONCAT('trigger ', TRIGGER_NAME, ' ', ACTION_TIMING, ' ', EVENT_MANIPULATION, \
             ' ', EVENT_OBJECT_TABLE, ' ', ACTION_STATEMENT) FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = DATABASE()",
            "SELECT CONCAT('routine ', ROUTINE_TYPE, ' ', ROUTINE_NAME, ' ', \
             COALESCE(ROUTINE_DEFINITION, '')) FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = DATABASE()",
            "SELECT CONCAT('grant ', PRIVILEGE_TYPE, ' on ', TABLE_NAME, ' to ', GRANTEE) \
             FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()",
        ] {
            out.extend(lines(engine, query)?);
        }
        out.sort();
        Ok(out)
    }

    fn rows_sql(&self, table: &Name, columns: &[String]) -> String {
        quoted_rows(Dialect::MySql, table, columns, "QUOTE", |v| {
            format!("CONCAT_WS(',', {})", v.join(", "))
        })
    }

    fn sample_sql(&self, table: &Name, columns: &[String], limit: u64) -> String {
        let rows = quoted_rows(Dialect::MySql, table, columns, "QUOTE", |v| {
            format!("CONCAT_WS(', ', {})", v.join(", "))
        });
        format!("{rows} LIMIT {limit}")
    }

    fn insert_sql(&self, table: &Name, columns: &[String]) -> String {
        insert(Dialect::MySql, table, columns)
    }

    fn relax_foreign_keys(&self) -> &'static [&'static str] {
        &["SET SESSION foreign_key_checks = 0"]
    }
}

/// `CREATE [DEFINER=…] TRIGGER`, as mariadb-dump writes it inside version comments
/// (`/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER …`).
fn is_trigger(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(8)
        .map(|w| {
            w.trim_start_matches("/*!")
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_end_matches("*/")
                .to_ascii_uppercase()
        })
        .filter(|w| !w.is_empty() && !w.starts_with("DEFINER="))
        .collect();
    words.first().is_some_and(|w| w == "CREATE") && words.iter().take(4).any(|w| w == "TRIGGER")
}

/// A mariadb-dump script without session settings and definers.
fn clean(dump: &str) -> Result<String, Error> {
    rewrite(dump, Dialect::MySql, |s| {
        if starts_with(s, "SET ")
            || starts_with(s, "LOCK TABLES")
            || starts_with(s, "UNLOCK TABLES")
        {
            return None;
        }
        Some(without_definer(s))
    })
}

/// `DEFINER=`user`@`host`` removed wherever it is (versioned comments included).
fn without_definer(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("DEFINER=") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "DEFINER=".len()..];
        // user@host, each part quoted with backticks or bare, ends at whitespace or `*/`.
        let end = after
            .find(|c: char| c.is_whitespace())
            .unwrap_or(after.len());
        let end = after[..end].find("*/").unwrap_or(end);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clone loads triggers after the rows: they are told apart as mariadb-dump writes them.
    #[test]
    fn triggers_are_told_apart() {
        assert!(is_trigger(
            "/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER audit AFTER INSERT ON t FOR EACH ROW INSERT INTO log VALUES (NEW.id) */"
        ));
        assert!(is_trigger(
            "CREATE DEFINER=`root`@`%` TRIGGER t1 BEFORE UPDATE ON t FOR EACH ROW SET NEW.x = 1"
        ));
        assert!(!is_trigger("CREATE TABLE `trigger` (id int)"));
        assert!(!is_trigger(
            "CREATE TABLE t (note varchar(10) COMMENT 'TRIGGER')"
        ));
    }

    #[test]
    fn definers_and_session_lines_go() {
        let dump = "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n\
                    /*!40101 SET character_set_client = utf8mb4 */;\n\
                    CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=3;\n\
                    /*!40101 SET character_set_client = @saved_cs_client */;\n\
                    /*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 AS `a` */;\n\
                    DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.id = NEW.id; END */;;\nDELIMITER ;\n";
        let out = clean(dump).unwrap();
        assert!(
            !out.contains("DEFINER=") && !out.contains("character_set_client"),
            "{out}"
        );
        assert!(
            out.contains("AUTO_INCREMENT=3") && out.contains("SQL SECURITY DEFINER"),
            "{out}"
        );
        assert_eq!(
            crate::sql::split(&out, Dialect::MySql).unwrap().len(),
            3,
            "{out}"
        );
    }
}
