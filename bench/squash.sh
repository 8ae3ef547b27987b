#!/usr/bin/env bash
# bench/squash.sh [pg] [mariadb] [sqlite]
# `cutover squash` on the longest corpus history of each engine (kratos), squashed but for
# its last ten migrations: the time to squash and prove (reported by the squash itself:
# apply to a scratch, dump, apply the baseline to a second scratch, compare), beside the
# engine's own schema dump of the same database (pg_dump --schema-only, mariadb-dump
# --no-data, sqlite3 .schema); then a fresh database deployed to the end from the baseline
# against the same from the full history, interleaved runs, medians.
# Needs python3 and the native clients. MariaDB: kratos needs a non-strict sql_mode and
# ends at its 344th migration (the 345th needs MySQL 8).
# Env: RUNS (3), CUTOVER (target/debug/cutover), WORK (/tmp/cutover-squash-bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} WORK=${WORK:-/tmp/cutover-squash-bench}
CUTOVER=${CUTOVER:-$here/../target/debug/cutover}
CORPORA=$here/../../shared/corpora
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb sqlite)
export PGSSLMODE=disable NO_COLOR=1
rm -rf "$WORK"; mkdir -p "$WORK"

url() {
  case $1 in
    pg) echo "postgres://postgres@127.0.0.1:5432/$2?sslmode=disable" ;;
    mariadb) echo "mysql://root@127.0.0.1:3306/$2" ;;
    sqlite) echo "sqlite://$WORK/$2.db" ;;
  esac
}
fresh() {
  case $1 in
    pg) psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $2" -c "CREATE DATABASE $2" 2>/dev/null ;;
    mariadb) mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $2; CREATE DATABASE $2" ;;
    sqlite) rm -f "$WORK/$2.db" ;;
  esac
}
gone() {
  case $1 in
    pg) psql -X -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $2" 2>/dev/null ;;
    mariadb) mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $2" ;;
    sqlite) rm -f "$WORK/$2.db" ;;
  esac
}
native_dump() {
  case $1 in
    pg) pg_dump -h 127.0.0.1 -U postgres --schema-only "$2" >/dev/null ;;
    mariadb) mariadb-dump -h 127.0.0.1 -u root --no-data --routines "$2" >/dev/null ;;
    sqlite) sqlite3 "$WORK/$2.db" .schema >/dev/null ;;
  esac
}
ms() { python3 -c 'import time; print(int(time.time()*1000))'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for e in "${engines[@]}"; do
  case $e in
    pg) corpus=postgres/kratos/sql; init=() ;;
    mariadb) corpus=mysql/kratos/sql; init=(--init-sql "SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'") ;;
    sqlite) corpus=sqlite/kratos/sql; init=() ;;
  esac
  full=$WORK/$e-full; squashed=$WORK/$e-squashed
  cp -r "$CORPORA/$corpus" "$full"; cp -r "$CORPORA/$corpus" "$squashed"
  fresh "$e" bsq_list
  ids=$("$CUTOVER" --url "$(url "$e" bsq_list)" --migrations "$full" status --json |
    python3 -c 'import json,sys; print(" ".join(m["version"] for m in json.load(sys.stdin)["migrations"]))')
  read -r -a list <<<"$ids"
  n=${#list[@]}; through=${list[$((n - 11))]}
  to=(); [[ $e == mariadb ]] && to=(--to "${list[343]}")
  # The squash, and the native dump of the database it squashed (the squash's first scratch).
  "$CUTOVER" --url "$(url "$e" bsq_list)" --migrations "$full" "${init[@]}" migrate --to "$through" -q
  t0=$(ms); native_dump "$e" bsq_list; native=$(( $(ms) - t0 ))
  # Its scratch databases are made on this database's server.
  report=$("$CUTOVER" --url "$(url "$e" bsq_list)" --migrations "$squashed" "${init[@]}" squash --through "$through" --json)
  gone "$e" bsq_list
  read -r total apply dump prove <<<"$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["total_ms"], r["apply_ms"], r["dump_ms"], r["prove_ms"])' "$report")"
  fromfull=(); frombase=()
  for ((r = 1; r <= RUNS; r++)); do
    for side in full squashed; do
      fresh "$e" bsq_run
      t0=$(ms)
      "$CUTOVER" --url "$(url "$e" bsq_run)" --migrations "$WORK/$e-$side" "${init[@]}" migrate "${to[@]}" -q
      took=$(( $(ms) - t0 ))
      if [[ $side == full ]]; then fromfull+=("$took"); else frombase+=("$took"); fi
    done
  done
  gone "$e" bsq_run
  f=$(printf '%s\n' "${fromfull[@]}" | median); b=$(printf '%s\n' "${frombase[@]}" | median)
  printf '%s: squash of %d migrations (kratos): %d ms (apply %d, dump %d, prove %d); native schema dump %d ms\n' \
    "$e" "$((n - 10))" "$total" "$apply" "$dump" "$prove" "$native"
  printf '%s: fresh deploy to the end: from the baseline %d ms, from the full history %d ms (%s x)\n' \
    "$e" "$b" "$f" "$(python3 -c "print(round($b / $f, 2))")"
done
