#!/usr/bin/env bash
# bench/floor.sh [pg] [mariadb] [sqlite]
# The floor for applying N trivial migrations: one native client session (psql, mariadb,
# sqlite3) replaying the same SQL as ../shared/bench's 01-apply-many, with a transaction and
# a history insert per migration, timed beside cutover on the same migrations, runs interleaved.
# Prints cutover's ratio to the floor. Needs ../shared/bench/setup.sh to have run (hyperfine,
# the bench user on MariaDB) and a release build (cargo build --release).
# Env: N (1000), RUNS (3), CUTOVER (target/release/cutover), WORK (/tmp/cutover-floor).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-1000} RUNS=${RUNS:-3} WORK=${WORK:-/tmp/cutover-floor}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb sqlite)
mkdir -p "$WORK/m"
export PGSSLMODE=disable

# Same migrations as the shared harness: CREATE TABLE + INSERT, one pair per file.
if [[ $(ls "$WORK/m" | wc -l) -ne $((2 * N)) ]]; then
  rm -rf "$WORK/m"; mkdir -p "$WORK/m"
  for ((i = 1; i <= N; i++)); do
    v=$(printf '%04d' "$i")
    printf "CREATE TABLE t_%s (id int primary key, v text); INSERT INTO t_%s VALUES (1,'x');\n" "$v" "$v" >"$WORK/m/${v}_t_$v.up.sql"
    printf 'DROP TABLE t_%s;\n' "$v" >"$WORK/m/${v}_t_$v.down.sql"
  done
fi
# The floor script: per migration BEGIN, the SQL, a history row, COMMIT.
floor_sql() {
  local now=$1
  echo "CREATE TABLE floor_history (version varchar(20) primary key, applied_at $now);"
  for ((i = 1; i <= N; i++)); do
    v=$(printf '%04d' "$i")
    printf "BEGIN;\nCREATE TABLE t_%s (id int primary key, v text); INSERT INTO t_%s VALUES (1,'x');\nINSERT INTO floor_history VALUES ('%s', CURRENT_TIMESTAMP);\nCOMMIT;\n" "$v" "$v" "$v"
  done
}
floor_sql "timestamp" >"$WORK/floor.sql"

for engine in "${engines[@]}"; do
  case $engine in
    pg)
      reset="psql -X -q -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE IF EXISTS floor_bench' -c 'CREATE DATABASE floor_bench'"
      floor="psql -X -q -h 127.0.0.1 -U postgres -d floor_bench -v ON_ERROR_STOP=1 -f $WORK/floor.sql"
      url="postgres://postgres@127.0.0.1:5432/floor_bench?sslmode=disable" ;;
    mariadb)
      reset="mariadb -h 127.0.0.1 -u bench -pbench -e 'DROP DATABASE IF EXISTS floor_bench; CREATE DATABASE floor_bench'"
      floor="mariadb -h 127.0.0.1 -u bench -pbench floor_bench < $WORK/floor.sql"
      url="mysql://bench:bench@127.0.0.1:3306/floor_bench" ;;
    sqlite)
      reset="rm -f $WORK/floor.db $WORK/floor.db-journal $WORK/floor.db.cutover-lock"
      floor="sqlite3 -bail $WORK/floor.db < $WORK/floor.sql"
      url="sqlite://$WORK/floor.db" ;;
  esac
  # Alternate the two commands run by run: this machine's disk speed drifts over minutes,
  # and back-to-back blocks of runs would turn that drift into a false ratio.
  : >"$WORK/$engine.times"
  for ((r = 1; r <= RUNS; r++)); do
    for which in floor cutover; do
      bash -c "$reset" >/dev/null 2>&1
      if [[ $which == floor ]]; then cmd="$floor"; else cmd="$CUTOVER --url $url --migrations $WORK/m migrate -q"; fi
      t0=$(date +%s%N); bash -c "$cmd" >/dev/null; t1=$(date +%s%N)
      echo "$which $(( (t1 - t0) / 1000000 ))" >>"$WORK/$engine.times"
    done
  done
  python3 - "$WORK/$engine.times" "$engine" "$N" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    which, ms = line.split()
    times.setdefault(which, []).append(int(ms) / 1000)
f, c = statistics.median(times["floor"]), statistics.median(times["cutover"])
ratios = [b / a for a, b in zip(times["floor"], times["cutover"])]
print(f"{sys.argv[2]:<8} floor   median {f:7.3f}s  runs {times['floor']}")
print(f"{sys.argv[2]:<8} cutover median {c:7.3f}s  runs {times['cutover']}")
print(f"{sys.argv[2]:<8} cutover / floor = {c / f:.2f}x (median of per-run ratios {statistics.median(ratios):.2f}x), {sys.argv[3]} migrations")
PY
done
