#!/usr/bin/env bash
# bench/fleet.sh [sqlite] [pg] [mariadb]
# One deploy over a fleet of tenant databases, each taking the LMS example's eight
# migrations: `cutover deploy` on a fleet environment at concurrency 1, 4 and 16, beside a
# shell loop of `cutover deploy` (one target at a time), a shell loop of `dbmate up` over
# the same targets, and the floor: the migrations applied 16 targets at a time with nothing
# else (SQLite: bench/fleet_floor.py in process, one transaction and a history row per
# migration; PostgreSQL and MariaDB: their own client per target under `xargs -P16`), in one
# run. Prints total time, targets per second, and each ratio to the dbmate loop. The fleet deploy does more per target than dbmate does (the run lock held
# throughout, validation after migrating, a cutover_runs row, a journal and reports).
# Env: SQLITE_N (1000), SERVER_N (200), CUTOVER (target/release/cutover), WORK
# (/tmp/cutover-fleet-bench), DBMATE (see below). Needs ../shared/bench/setup.sh
# (dbmate, the bench user on MariaDB) and a release build. DBMATE defaults to the native
# binary npm installs, not the node wrapper.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SQLITE_N=${SQLITE_N:-1000} SERVER_N=${SERVER_N:-200}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
WORK=${WORK:-/tmp/cutover-fleet-bench}
# dbmate's own Go binary, not npm's node wrapper on PATH (whose start-up would be timed too).
native_dbmate=/usr/lib/node_modules/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate
DBMATE=${DBMATE:-$([[ -x $native_dbmate ]] && echo "$native_dbmate" || command -v dbmate)}
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(sqlite pg mariadb)
export PGSSLMODE=disable
# psql's "does not exist, skipping" notices for each tenant are noise here.
export PGOPTIONS="-c client_min_messages=warning"
rm -rf "$WORK" && mkdir -p "$WORK/m" "$WORK/dbmate"
cp "$here"/../examples/lms/migrations/*.sql "$WORK/m/"
# The same migrations in dbmate's layout: one file, an up and a down section.
for up in "$WORK"/m/*.up.sql; do
  base=$(basename "$up" .up.sql)
  { echo "-- migrate:up"; cat "$up"; echo; echo "-- migrate:down"; cat "$WORK/m/$base.down.sql"; } \
    >"$WORK/dbmate/$base.sql"
done

now() { date +%s%N; }
report() { # name targets ms baseline_ms
  python3 -c "import sys; n,t,ms,b=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); \
print(f'{n:<34} {ms/1000:8.2f} s  {t*1000/ms:8.1f} targets/s  {b/ms:6.2f}x the dbmate loop')" "$@"
}

for engine in "${engines[@]}"; do
  case $engine in
    sqlite) n=$SQLITE_N ;;
    *) n=$SERVER_N ;;
  esac
  url_of() { # i → URL
    case $engine in
      sqlite) echo "sqlite://$WORK/t/t$1.db" ;;
      pg) echo "postgres://postgres@127.0.0.1:5432/fleet_t$1?sslmode=disable" ;;
      mariadb) echo "mysql://bench:bench@127.0.0.1:3306/fleet_t$1" ;;
    esac
  }
  dbmate_url_of() {
    case $engine in
      sqlite) echo "sqlite:$WORK/t/t$1.db" ;;
      *) url_of "$1" ;;
    esac
  }
  fresh() { # drop and create every tenant
    rm -rf "$WORK/t" "$WORK/.cutover" "$WORK/backups" && mkdir -p "$WORK/t"
    case $engine in
      pg)
        for ((i = 1; i <= n; i++)); do echo "DROP DATABASE IF EXISTS fleet_t$i; CREATE DATABASE fleet_t$i;"; done |
          psql -X -q -h 127.0.0.1 -U postgres -d postgres >/dev/null ;;
      mariadb)
        for ((i = 1; i <= n; i++)); do echo "DROP DATABASE IF EXISTS fleet_t$i; CREATE DATABASE fleet_t$i;"; done |
          mariadb -h 127.0.0.1 -u bench -pbench ;;
    esac
  }
  : >"$WORK/targets.txt"
  for ((i = 1; i <= n; i++)); do echo "t$i $(url_of "$i")" >>"$WORK/targets.txt"; done
  config() { # concurrency
    printf '[environments.fleet]\nkind = "test"\nmigrations = "m"\n[environments.fleet.fleet]\ntargets_file = "targets.txt"\nconcurrency = %s\n' "$1" >"$WORK/cutover.toml"
  }
  floor() { # n: every target migrated, 16 at a time, with nothing else
    case $engine in
      sqlite) python3 "$here/fleet_floor.py" "$WORK/m" "$WORK/t" "$1" 16 ;;
      pg) seq 1 "$1" | xargs -P16 -I{} psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres \
            -d fleet_t{} -f "$WORK/floor.sql" >/dev/null ;;
      mariadb) seq 1 "$1" | xargs -P16 -I{} sh -c \
            "mariadb -h 127.0.0.1 -u bench -pbench fleet_t{} <'$WORK/floor.sql'" ;;
    esac
  }
  # The floor's script for a server: each migration in a transaction with its history row
  # (MariaDB's DDL commits on its own; its row follows it).
  {
    echo "CREATE TABLE history(version VARCHAR(255) PRIMARY KEY);"
    for up in "$WORK"/m/*.up.sql; do
      echo "BEGIN;"; cat "$up"; echo ";"
      echo "INSERT INTO history VALUES ('$(basename "$up")');"; echo "COMMIT;"
    done
  } >"$WORK/floor.sql"
  echo "== $engine: $n tenants, 8 migrations each"
  fresh
  t0=$(now)
  for ((i = 1; i <= n; i++)); do
    "$DBMATE" --url "$(dbmate_url_of "$i")" --migrations-dir "$WORK/dbmate" --no-dump-schema up >/dev/null
  done
  dbmate_ms=$((($(now) - t0) / 1000000))
  report "dbmate up, shell loop" "$n" "$dbmate_ms" "$dbmate_ms"
  fresh
  t0=$(now)
  floor "$n"
  floor_ms=$((($(now) - t0) / 1000000))
  report "floor, 16 at a time" "$n" "$floor_ms" "$dbmate_ms"
  fresh
  printf '[environments.one]\nkind = "test"\nmigrations = "m"\n' >"$WORK/cutover.toml"
  t0=$(now)
  for ((i = 1; i <= n; i++)); do
    (cd "$WORK" && "$CUTOVER" --env one --url "$(url_of "$i")" deploy -q >/dev/null)
  done
  loop_ms=$((($(now) - t0) / 1000000))
  report "cutover deploy, shell loop" "$n" "$loop_ms" "$dbmate_ms"
  for c in 1 4 16; do
    fresh
    config "$c"
    t0=$(now)
    (cd "$WORK" && "$CUTOVER" --env fleet deploy -q >/dev/null)
    ms=$((($(now) - t0) / 1000000))
    report "cutover fleet, concurrency $c" "$n" "$ms" "$dbmate_ms"
  done
done
case " ${engines[*]} " in
  *" pg "*) for ((i = 1; i <= SERVER_N; i++)); do echo "DROP DATABASE IF EXISTS fleet_t$i;"; done |
    psql -X -q -h 127.0.0.1 -U postgres -d postgres >/dev/null ;;
esac
case " ${engines[*]} " in
  *" mariadb "*) for ((i = 1; i <= SERVER_N; i++)); do echo "DROP DATABASE IF EXISTS fleet_t$i;"; done |
    mariadb -h 127.0.0.1 -u bench -pbench ;;
esac
