#!/usr/bin/env bash
# bench/connections.sh [CUTOVER...]
# How many connections one `cutover deploy` opens to its PostgreSQL target, read from
# pg_stat_database.sessions before and after (scratch databases are other databases and not
# counted). Runs the LMS example's dev policy (backup verified by restoring it, seeds,
# verify) against a fresh database for each binary given (default: target/release/cutover).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bins=("$@"); [[ ${#bins[@]} -gt 0 ]] || bins=("$here/../target/release/cutover")
work=$(mktemp -d); trap 'rm -rf "$work"; psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS conn_bench WITH (FORCE)" >/dev/null' EXIT
cp -r "$here/../examples/lms/migrations" "$here/../examples/lms/seeds" "$work/"
cat >"$work/cutover.toml" <<TOML
[environments.dev]
url = "postgres://postgres@127.0.0.1:5432/conn_bench?sslmode=disable"
migrations = "migrations"
seeds = "seeds"
[environments.dev.backup]
required = true
verify = "restore"
TOML
sessions() {
  psql -X -qAt -h 127.0.0.1 -U postgres -d postgres -c \
    "SELECT coalesce((SELECT sessions FROM pg_stat_database WHERE datname = 'conn_bench'), 0)"
}
for bin in "${bins[@]}"; do
  psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE IF EXISTS conn_bench WITH (FORCE)' -c 'CREATE DATABASE conn_bench' >/dev/null
  sleep 1.2
  before=$(sessions)
  (cd "$work" && "$bin" --env dev deploy -q --report-dir "$work/reports" >/dev/null)
  sleep 1.2  # statistics reach pg_stat_database within a second
  after=$(sessions)
  echo "$bin: $((after - before)) connection(s) to the target for one deploy"
done
