#!/usr/bin/env bash
# bench/replay.sh [pg] [mariadb] [sqlite]
# Issue 11, "Measured": every history cutover reads replays exactly as its own tool would.
# For each real history in ../shared/corpora (with the settings tests/it/corpora.rs gives
# it) and each synthetic folder in bench/replay/<layout>/<engine> (layouts the corpora lack):
#   database A: `cutover migrate` (release build);
#   database B: the engine's own client (psql -v ON_ERROR_STOP=1, mariadb, sqlite3 -bail) in
#     one session, replaying the files of `cutover plan --sql DIR` in order: each in a
#     transaction where cutover runs it in one, stopping at the first error;
# then `cutover diff --from A --to B` compares the schemas (cutover's own tables left out),
# and so do the engines' own dumps (pg_dump -s, mariadb-dump --no-data --routines
# --triggers, sqlite3 .schema), which also hold functions, procedures and triggers, and
# the rows each table holds are counted on both sides.
# Prints per history: layout, engine, migrations, applied by each side, both times, and
# whether schemas, dumps and row counts are equal (the differences when not). Creates and
# drops every database.
# Env: CUTOVER (target/release/cutover), CORPORA (../shared/corpora), WORK (a temp dir),
# ONLY (a substring of the history names to run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
CORPORA=${CORPORA:-$here/../../shared/corpora}
[[ -d $CORPORA ]] || CORPORA=/work/shared/corpora
CORPORA=$(cd "$CORPORA" && pwd)
PG=${PG:-postgres://postgres@127.0.0.1:5432}
MY=${MY:-mysql://root@127.0.0.1:3306}
export PGSSLMODE=disable NO_COLOR=1
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb sqlite)
WORK=$(mktemp -d "${WORK:-/tmp}/cutover-replay.XXXXXX")
tag="rp$$"
dbs=()
unequal=0

cleanup() {
  for db in "${dbs[@]}"; do drop "$db" || true; done
  [[ -n ${KEEP:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

wants() { [[ " ${engines[*]} " == *" $1 "* ]]; }
now() { date +%s.%N; }

create() { # engine name
  case $1 in
    pg) psql -X -q -d "$PG/postgres" -c "CREATE DATABASE $2" ;;
    mariadb) mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE $2" ;;
    sqlite) : ;;
  esac
  dbs+=("$1:$2")
}

drop() { # engine:name
  local e=${1%%:*} n=${1#*:}
  case $e in
    pg) psql -X -q -d "$PG/postgres" -c "DROP DATABASE IF EXISTS $n WITH (FORCE)" ;;
    mariadb) mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $n" ;;
    sqlite) rm -f "$WORK/$n.db" ;;
  esac
}

url() { # engine name
  case $1 in
    pg) echo "$PG/$2" ;;
    mariadb) echo "$MY/$2" ;;
    sqlite) echo "sqlite://$WORK/$2.db" ;;
  esac
}

# The native client's driver script: every exported file in order, each in a transaction
# when cutover runs it in one, with a progress line after each (for mariadb, the files; its
# client runs with utf8mb4, the character set cutover and the tools' drivers connect with,
# where Debian's client default is utf8mb3, which views record).
driver() { # engine sqldir
  local e=$1 n=0 f tx
  for f in "$2"/*.sql; do
    n=$((n + 1))
    tx=1; grep -q '^-- runs statement by statement' "$f" && tx=0
    case $e in
      pg) ((tx)) && echo 'BEGIN;'; echo "\\i $f"; ((tx)) && echo 'COMMIT;'; echo "\\echo replay-applied $n" ;;
      mariadb) echo "$f" ;; # one client per file: `source` carries on after an error
      sqlite) ((tx)) && echo 'BEGIN;'; echo ".read $f"; ((tx)) && echo 'COMMIT;'; echo ".print replay-applied $n" ;;
    esac
  done
}

native() { # engine db init_sql driverfile → prints the client's output (for mariadb the
  # driver file lists the files to run)
  case $1 in
    pg) psql -X -q -v ON_ERROR_STOP=1 -d "$PG/$2" -f "$4" 2>&1 ;;
    mariadb)
      local f n=0
      while read -r f; do
        mariadb -h 127.0.0.1 -u root -N -s --default-character-set=utf8mb4 ${3:+--init-command="$3"} "$2" <"$f" 2>&1 || return 0
        n=$((n + 1)); echo "replay-applied $n"
      done <"$4" ;;
    sqlite) sqlite3 -bail "$WORK/$2.db" <"$4" 2>&1 ;;
  esac
}

# The engine's own schema dump, without cutover's tables and what differs between any two
# databases (names, pg_dump's \restrict keys, AUTO_INCREMENT counters).
dump() { # engine db
  case $1 in
    pg) pg_dump -s -O -x -T 'cutover_*' -d "$PG/$2" | grep -v -e '^\\restrict' -e '^\\unrestrict' -e '^--' ;;
    mariadb) mariadb-dump -h 127.0.0.1 -u root --no-data --routines --triggers --events --skip-dump-date --skip-comments \
      $(for t in cutover_migrations cutover_runs cutover_seeds cutover_restore_in_progress cutover_transfer; do echo "--ignore-table=$2.$t"; done) "$2" |
      sed -E 's/ AUTO_INCREMENT=[0-9]+//; s/DEFINER=`[^`]*`@`[^`]*`//' ;;
    sqlite) sqlite3 "$WORK/$2.db" "SELECT sql || ';' FROM sqlite_schema WHERE sql IS NOT NULL
      AND name NOT LIKE 'cutover\_%' ESCAPE '\' ORDER BY type, name" ;;
  esac
}

# Rows per table (cutover's tables left out): what the migrations inserted, deleted or moved.
rows() { # engine db
  case $1 in
    pg) psql -X -At -d "$PG/$2" -c "SELECT table_schema || '.' || table_name || ' ' ||
      (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
      FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_name NOT LIKE 'cutover\_%'
      AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" ;;
    mariadb) mariadb -h 127.0.0.1 -u root -N -s "$2" -e "SELECT CONCAT('SELECT ''', table_name, ''', COUNT(*) FROM \`', table_name, '\`;')
      FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
      AND table_name NOT LIKE 'cutover\\_%' ORDER BY table_name" | mariadb -h 127.0.0.1 -u root -N -s "$2" ;;
    sqlite) sqlite3 "$WORK/$2.db" "SELECT 'SELECT ''' || name || ''', count(*) FROM \"' || name || '\";' FROM sqlite_schema
      WHERE type = 'table' AND name NOT LIKE 'cutover\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name" |
      sqlite3 "$WORK/$2.db" ;;
  esac
}

printf '%-44s %-10s %-8s %5s %15s %9s %9s %-6s %-4s %s\n' history layout engine migr 'applied cut/nat' cutover native schema dump rows
# replay NAME ENGINE DIR [INIT_SQL] [INCLUDE] [BASE]: BASE is a schema dump the native
# client loads into both databases first.
replay() {
  local name=$1 e=$2 dir=$3 init=${4:-} include=${5:-} base=${6:-}
  wants "$e" || return 0
  [[ -z ${ONLY:-} || $name == *"$ONLY"* ]] || return 0
  local id="${tag}_$((${#dbs[@]} / 2))" w
  w="$WORK/$id"; mkdir -p "$w"
  create "$e" "${id}_a"; create "$e" "${id}_b"
  local a b
  a=$(url "$e" "${id}_a"); b=$(url "$e" "${id}_b")
  if [[ -n $base ]]; then
    echo "$base" >"$w/base"
    native "$e" "${id}_a" "$init" "$w/base" >/dev/null; native "$e" "${id}_b" "$init" "$w/base" >/dev/null
  fi
  local quoted_init="" quoted_inc=""
  [[ -n $init ]] && quoted_init="\"$init\""
  [[ -n $include ]] && quoted_inc="\"$include\""
  for side in a b; do
    local u=$a; [[ $side == b ]] && u=$b
    printf '[environments.%s]\nurl = "%s"\nmigrations = "%s"\ninit_sql = [%s]\ninclude = [%s]\n' \
      "$side" "$u" "$dir" "$quoted_init" "$quoted_inc" >>"$w/cutover.toml"
  done
  local c=("$CUTOVER" --config "$w/cutover.toml" --no-color)
  "${c[@]}" --env b plan --sql "$w/sql" -q >/dev/null
  local layout n
  layout=$("${c[@]}" --env b status --json | jq -r .layout)
  n=$(ls "$w/sql" | wc -l)
  driver "$e" "$w/sql" >"$w/driver"
  local t0 t1 t2 t3 cut_rc=0
  # Alternate which side goes first, so that a slow spell of the shared disk hits both.
  if (( ${#dbs[@]} / 2 % 2 )); then
    t0=$(now); "${c[@]}" --env a migrate -q >"$w/cutover.out" 2>&1 || cut_rc=$?; t1=$(now)
    t2=$(now); native "$e" "${id}_b" "$init" "$w/driver" >"$w/native.out" || true; t3=$(now)
  else
    t2=$(now); native "$e" "${id}_b" "$init" "$w/driver" >"$w/native.out" || true; t3=$(now)
    t0=$(now); "${c[@]}" --env a migrate -q >"$w/cutover.out" 2>&1 || cut_rc=$?; t1=$(now)
  fi
  local cut_n nat_n equal
  cut_n=$("${c[@]}" --env a status --json | jq '[.migrations[] | select(.state == "applied")] | length')
  nat_n=$(grep -c '^replay-applied' "$w/native.out" || true)
  if "$CUTOVER" --no-color --url "$b" diff --from "$a" --to target >"$w/diff.out" 2>&1; then equal=yes; else equal=NO; fi
  [[ $cut_n == "$nat_n" ]] || equal=NO
  local dumped=yes
  dump "$e" "${id}_a" >"$w/a.dump"; dump "$e" "${id}_b" >"$w/b.dump"
  diff -u "$w/a.dump" "$w/b.dump" >"$w/dump.diff" || dumped=NO
  local counted=yes
  rows "$e" "${id}_a" >"$w/a.rows"; rows "$e" "${id}_b" >"$w/b.rows"
  diff -u "$w/a.rows" "$w/b.rows" >"$w/rows.diff" || counted=NO
  printf '%-44s %-10s %-8s %5s %15s %8.2fs %8.2fs %-6s %-4s %s\n' "$name" "$layout" "$e" "$n" "$cut_n/$nat_n" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" "$equal" "$dumped" "$counted"
  if [[ $cut_rc != 0 || $nat_n != "$n" ]]; then
    echo "    cutover stopped: $(grep -m1 -E 'failed|error' "$w/cutover.out" | cut -c1-150)"
    echo "    native stopped:  $(grep -v '^replay-applied' "$w/native.out" | grep -m1 -iE 'error' | cut -c1-150)"
  fi
  if [[ $equal == NO ]]; then
    unequal=$((unequal + 1))
    sed 's/^/    /' "$w/diff.out" | head -40
  fi
  if [[ $counted == NO ]]; then
    unequal=$((unequal + 1))
    sed 's/^/    /' "$w/rows.diff" | head -20
  fi
  if [[ $dumped == NO ]]; then
    unequal=$((unequal + 1))
    sed 's/^/    /' "$w/dump.diff" | head -40
  fi
}

skip() { printf '%-44s skipped: %s\n' "$1" "$2"; }

# Real histories, with the settings tests/it/corpora.rs gives them.
replay postgres/documenso pg "$CORPORA/postgres/documenso"
replay postgres/atuin-server-postgres pg "$CORPORA/postgres/atuin/atuin-server-postgres"
replay postgres/vaultwarden pg "$CORPORA/postgres/vaultwarden"
replay postgres/kratos pg "$CORPORA/postgres/kratos/sql"
replay 'postgres/lemmy (stops at 248: PG 16)' pg "$CORPORA/postgres/lemmy"
replay mysql/vaultwarden mariadb "$CORPORA/mysql/vaultwarden" "SET SESSION foreign_key_checks=0"
replay 'mysql/kratos (stops at 345: MySQL 8)' mariadb "$CORPORA/mysql/kratos/sql" "SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'"
replay sqlite/kratos sqlite "$CORPORA/sqlite/kratos/sql"
replay sqlite/vaultwarden sqlite "$CORPORA/sqlite/vaultwarden"
for h in atuin-client/migrations atuin-client/record-migrations atuin-client/meta-migrations \
  atuin-server-sqlite/migrations atuin-ai/migrations atuin-kv/migrations atuin-scripts/migrations; do
  replay "sqlite/atuin/$h" sqlite "$CORPORA/sqlite/atuin/$h"
done
for e in postgres mysql sqlite; do
  skip "$e/memos" "its chain starts from an older schema, not from empty (SOURCES.md; corpora.rs reads and splits it only)"
done
skip 'mysql/vmangos (world)' "the world database it migrates is a release download, not in the corpora (corpora.rs reads and splits it only)"
# Its other three databases replay on their base dumps (SOURCES.md); corpora.rs does not run them.
for db in characters logon logs; do
  replay "mysql/vmangos ($db, on its base dump)" mariadb "$CORPORA/mysql/vmangos" "" "*_$db.sql" \
    "$CORPORA/mysql/vmangos-base-schema/$db.sql"
done

# Synthetic folders for layouts the corpora lack.
for layout in dbmate goose liquibase sqitch atlas flyway laravel quoting; do
  for dir in "$here"/replay/$layout/*/; do
    d=$(basename "$dir")
    e=$d; [[ $d == postgres ]] && e=pg; [[ $d == mysql ]] && e=mariadb
    replay "bench/replay/$layout/$d" "$e" "${dir%/}"
  done
done

echo "differences (schema, dump, rows or applied counts): $unequal"
