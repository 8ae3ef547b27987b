#!/usr/bin/env bash
# bench/tls.sh
# What a PostgreSQL connection over TLS costs cutover, beside psql: `cutover status` with
# sslmode=require against psql running the same history query over TLS, in interleaved
# rounds of one run each (plus `cutover status` with sslmode=disable, for the cost of TLS
# itself). Prints each median and cutover's ratio to psql, and exits 1 when the ratio is
# above the goal (1.2x). Needs bash 5, python3, psql, a PostgreSQL with `ssl = on` and a
# release build (cargo build --release).
# Env: RUNS (40 rounds), CUTOVER (target/release/cutover), PSQL (the psql binary itself, see
# below), PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), DB (cutover_bench_tls),
# WORK (/tmp/cutover-tls), GOAL (1.2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-40} WORK=${WORK:-/tmp/cutover-tls} DB=${DB:-cutover_bench_tls} GOAL=${GOAL:-1.2}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
base="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
# Debian's /usr/bin/psql is pg_wrapper, a Perl script that costs ~40 ms per start before
# psql runs: the floor is the psql binary itself.
if [[ -z ${PSQL:-} ]]; then
  PSQL=$(pg_config --bindir 2>/dev/null)/psql
  [[ -x $PSQL ]] || PSQL=$(command -v psql)
fi

[[ -x $CUTOVER ]] || { echo "no release build at $CUTOVER: cargo build --release" >&2; exit 2; }
echo "cutover: $CUTOVER; psql: $PSQL ($("$PSQL" --version))"
ssl=$(PGSSLMODE=disable psql -X -At -d postgres -c "SHOW ssl")
[[ $ssl == on ]] || { echo "the server at $PGHOST:$PGPORT has ssl = $ssl; this bench needs TLS" >&2; exit 2; }

# A database with a history of three applied migrations, made by cutover itself.
mkdir -p "$WORK/migrations"
for i in 1 2 3; do echo "CREATE TABLE t$i (id int);" >"$WORK/migrations/${i}_t$i.up.sql"; done
PGSSLMODE=disable psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'PGSSLMODE=disable psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"' EXIT
"$CUTOVER" --url "$base?sslmode=disable" --migrations "$WORK/migrations" -q migrate

# The query cutover's status runs for the history (src/engine/postgres.rs, load_history),
# given to psql in a file.
cat >"$WORK/history.sql" <<'SQL'
SELECT version, name, checksum, status, direction,
       to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       duration_ms, applied_by, run_id, failed_statement, failed_line, failed_file, error
FROM "public".cutover_migrations;
SQL

cmds=(
  "$CUTOVER --url $base?sslmode=require --migrations $WORK/migrations status"
  "$PSQL -X -q -d $base?sslmode=require -f $WORK/history.sql -o /dev/null"
  "$CUTOVER --url $base?sslmode=disable --migrations $WORK/migrations status"
)
names=("cutover status (sslmode=require)" "psql history query (sslmode=require)" "cutover status (sslmode=disable)")

# Interleaved rounds (each runs the three once, in turn), so that load from other processes
# on the machine falls on all three alike; timed with bash's $EPOCHREALTIME, which costs no
# process of its own.
for c in "${cmds[@]}"; do $c >/dev/null; $c >/dev/null; done # warm up
: >"$WORK/times"
for ((r = 0; r < RUNS; r++)); do
  for i in 0 1 2; do
    t0=$EPOCHREALTIME
    ${cmds[$i]} >/dev/null
    t1=$EPOCHREALTIME
    echo "$i ${t0/./} ${t1/./}" >>"$WORK/times"
  done
done

python3 - "$WORK/times" "$GOAL" "${names[@]}" <<'PY'
import statistics, sys
path, goal, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
ms = {i: [] for i in range(len(names))}
for line in open(path):
    i, t0, t1 = map(int, line.split())
    ms[int(i)].append((t1 - t0) / 1000)
med = [statistics.median(ms[i]) for i in range(len(names))]
for name, m, runs in zip(names, med, ms.values()):
    print(f"{name:<40} median {m:7.1f} ms  (min {min(runs):.1f}, max {max(runs):.1f}, {len(runs)} runs)")
ratio = med[0] / med[1]
verdict = "meets" if ratio <= goal else "misses"
print(f"cutover / psql over TLS: {ratio:.2f}x ({verdict} the goal of {goal}x)")
sys.exit(0 if ratio <= goal else 1)
PY
