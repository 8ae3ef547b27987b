#!/usr/bin/env bash
# bench/introspect.sh [pg] [mariadb] [sqlite]
# How long `cutover schema --json` takes to read a schema, beside the engine's own schema
# dump in the same run (pg_dump --schema-only, mariadb-dump --no-data, sqlite3 .schema):
# a generated 20-table schema, a generated 2,000-table schema (keys, foreign keys, indexes,
# checks on every table) and the largest corpus schema of the engine (lemmy up to the
# migration that needs PostgreSQL 16; kratos on MariaDB and SQLite).
# Needs hyperfine, the native clients, ../shared/bench/setup.sh's bench user on MariaDB,
# and a release build (cargo build --release).
# Env: RUNS (10), CUTOVER (target/release/cutover), WORK (/tmp/cutover-introspect).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-10} WORK=${WORK:-/tmp/cutover-introspect}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
CORPORA=$here/../../shared/corpora
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb sqlite)
mkdir -p "$WORK"
export PGSSLMODE=disable

# N tables: a key, a foreign key to the first table, a unique key, a check and an index each.
generate() {
  local n=$1
  echo "CREATE TABLE g_base (id INTEGER PRIMARY KEY, name VARCHAR(40));"
  for ((i = 1; i <= n; i++)); do
    printf "CREATE TABLE g_%04d (id INTEGER PRIMARY KEY, base_id INTEGER NOT NULL, code VARCHAR(40) NOT NULL, amount DECIMAL(10,2) DEFAULT 0, note TEXT, created_at TIMESTAMP NULL, CONSTRAINT g_%04d_code UNIQUE (code), CONSTRAINT g_%04d_amount CHECK (amount >= 0), CONSTRAINT g_%04d_base FOREIGN KEY (base_id) REFERENCES g_base (id) ON DELETE CASCADE);\nCREATE INDEX g_%04d_created ON g_%04d (created_at);\n" "$i" "$i" "$i" "$i" "$i" "$i"
  done
}

# load ENGINE DB SQLFILE: a fresh database holding that schema.
fresh() {
  case $1 in
    pg) psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2" 2>/dev/null ;;
    mariadb) mariadb -h 127.0.0.1 -u bench -pbench -e "DROP DATABASE IF EXISTS $2; CREATE DATABASE $2" ;;
    sqlite) rm -f "$WORK/$2.db" ;;
  esac
}
load() {
  case $1 in
    pg) psql -X -q -h 127.0.0.1 -U postgres -d "$2" -v ON_ERROR_STOP=1 -f "$3" ;;
    mariadb) mariadb -h 127.0.0.1 -u bench -pbench "$2" <"$3" ;;
    sqlite) sqlite3 -bail "$WORK/$2.db" <"$3" ;;
  esac
}
url() {
  case $1 in
    pg) echo "postgres://postgres@127.0.0.1:5432/$2?sslmode=disable" ;;
    mariadb) echo "mysql://bench:bench@127.0.0.1:3306/$2" ;;
    sqlite) echo "sqlite://$WORK/$2.db" ;;
  esac
}
floor() {
  case $1 in
    pg) echo "pg_dump --schema-only -h 127.0.0.1 -U postgres $2 >/dev/null" ;;
    mariadb) echo "mariadb-dump --no-data -h 127.0.0.1 -u bench -pbench $2 >/dev/null" ;;
    sqlite) echo "sqlite3 $WORK/$2.db .schema >/dev/null" ;;
  esac
}
corpus() {
  case $1 in
    pg) echo "$CORPORA/postgres/lemmy" ;;
    mariadb) echo "$CORPORA/mysql/kratos/sql" ;;
    sqlite) echo "$CORPORA/sqlite/kratos/sql" ;;
  esac
}

generate 20 >"$WORK/g20.sql"
generate 2000 >"$WORK/g2000.sql"
printf '%-8s %-22s %7s %10s %10s %7s\n' engine schema tables cutover_ms floor_ms ratio
for engine in "${engines[@]}"; do
  for schema in g20 g2000 corpus; do
    db="introspect_$schema"
    if [[ ${REUSE:-} != 1 ]]; then
      fresh "$engine" "$db"
      if [[ $schema == corpus ]]; then
        init=()
        [[ $engine == mariadb ]] && init=(--init-sql "SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'")
        # lemmy and kratos stop at the first migration this server cannot run.
        "$CUTOVER" --url "$(url "$engine" "$db")" --migrations "$(corpus "$engine")" "${init[@]}" migrate -q 2>/dev/null || true
      else
        load "$engine" "$db" "$WORK/$schema.sql"
      fi
    fi
    u=$(url "$engine" "$db")
    tables=$("$CUTOVER" --url "$u" schema --json | jq '.tables | length')
    hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$WORK/$engine-$schema.json" \
      -n cutover "$CUTOVER --url '$u' schema --json >/dev/null" -n floor "$(floor "$engine" "$db")" >/dev/null
    read -r c f < <(jq -r '[.results[] | .median * 1000] | "\(.[0]) \(.[1])"' "$WORK/$engine-$schema.json")
    name=$schema
    [[ $schema == corpus ]] && name="corpus:$(corpus "$engine" | sed -E 's#.*/(postgres|mysql|sqlite)/([^/]+).*#\2#')"
    printf '%-8s %-22s %7s %10.1f %10.1f %7.2f\n' "$engine" "$name" "$tables" "$c" "$f" "$(echo "$c / $f" | bc -l)"
  done
done
