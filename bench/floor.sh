#!/usr/bin/env bash
# bench/floor.sh [pg] [mariadb] [sqlite]
# The floor for applying N trivial migrations: one native client session (psql, mariadb,
# sqlite3) replaying the same SQL as ../shared/bench's 01-apply-many, with a transaction and
# a history insert per migration, timed beside cutover on the same migrations, runs interleaved.
# Prints cutover's ratio to the floor. Needs ../shared/bench/setup.sh to have run (hyperfine,
# the bench user on MariaDB) and a release build (cargo build --release).
# Env: N (1000), RUNS (3), CUTOVER (target/release/cutover), WORK (/tmp/cutover-floor),
# PEERS ("dbmate sqlx": time them too, interleaved; needs ../shared/bench/setup.sh and its
# generated migrations in $PEER_M, default /tmp/cutover-bench/migrations).
# ONE_TX=1 also times `cutover deploy` with `transaction = "deploy"` (one transaction for
# the whole deploy; PostgreSQL and SQLite only), preflight, verify and report included, and
# floor-1tx: the client replaying the same SQL inside one BEGIN … COMMIT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-1000} RUNS=${RUNS:-3} WORK=${WORK:-/tmp/cutover-floor}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb sqlite)
mkdir -p "$WORK/m"
export PGSSLMODE=disable
PEER_M=${PEER_M:-/tmp/cutover-bench/migrations}
DBMATE=${DBMATE:-/usr/lib/node_modules/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate}
SQLX=${SQLX:-$(command -v sqlx || echo "$HOME/.cargo/bin/sqlx")}

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
# The same SQL in one transaction: what the client itself takes when one transaction holds
# every migration (the bound for `transaction = "deploy"`, timed as floor-1tx).
{ echo "BEGIN;"; floor_sql "timestamp" | grep -v -x -e 'BEGIN;' -e 'COMMIT;'; echo "COMMIT;"; } >"$WORK/floor-1tx.sql"

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
  # Peers (PEERS="dbmate sqlx"), on the shared harness's migrations in their layouts.
  declare -A cmds=([floor]="$floor" [cutover]="$CUTOVER --url $url --migrations $WORK/m migrate -q")
  order=(floor cutover)
  if [[ ${ONE_TX:-} == 1 && $engine != mariadb ]]; then
    printf '[environments.bench]\nkind = "dev"\nurl = "%s"\nmigrations = "m"\ntransaction = "deploy"\n' \
      "$url" >"$WORK/onetx.toml"
    cmds[deploy-1tx]="$CUTOVER --config $WORK/onetx.toml deploy --env bench -q --report-dir $WORK/reports"
    cmds[floor-1tx]="${floor//floor.sql/floor-1tx.sql}"
    order+=(deploy-1tx floor-1tx)
  fi
  for peer in ${PEERS:-}; do
    case $peer:$engine in
      dbmate:sqlite) u="sqlite:$WORK/floor.db" ;;
      sqlx:sqlite) u="sqlite://$WORK/floor.db?mode=rwc" ;;
      *) u="$url" ;;
    esac
    case $peer in
      dbmate) cmds[dbmate]="$DBMATE --url $u --migrations-dir $PEER_M/dbmate --no-dump-schema migrate" ;;
      sqlx) cmds[sqlx]="$SQLX migrate run --source $PEER_M/sqlx --database-url $u" ;;
    esac
    order+=("$peer")
  done
  # Alternate the commands run by run: this machine's disk speed drifts over minutes, and
  # back-to-back blocks of runs would turn that drift into a false ratio.
  : >"$WORK/$engine.times"
  for ((r = 1; r <= RUNS; r++)); do
    for which in "${order[@]}"; do
      bash -c "$reset" >/dev/null 2>&1
      t0=$(date +%s%N); bash -c "${cmds[$which]}" >/dev/null; t1=$(date +%s%N)
      echo "$which $(( (t1 - t0) / 1000000 ))" >>"$WORK/$engine.times"
    done
  done
  python3 - "$WORK/$engine.times" "$engine" "$N" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    which, ms = line.split()
    times.setdefault(which, []).append(int(ms) / 1000)
engine, n = sys.argv[2], sys.argv[3]
c = statistics.median(times["cutover"])
for which, runs in times.items():
    print(f"{engine:<8} {which:<8} median {statistics.median(runs):7.3f}s  runs {runs}")
def ratio(a, b):
    per_run = [x / y for x, y in zip(times[a], times[b])]
    print(f"{engine:<8} {a} / {b} = {statistics.median(times[a]) / statistics.median(times[b]):.2f}x "
          f"(median of per-run ratios {statistics.median(per_run):.2f}x), {n} migrations")
if "deploy-1tx" in times:
    # One transaction for the whole deploy: against the floor, and against the client's own
    # replay in one transaction (the server's share, which no client can go below).
    ratio("deploy-1tx", "floor"); ratio("floor-1tx", "floor"); ratio("deploy-1tx", "floor-1tx")
for which, runs in times.items():
    if which in ("cutover", "deploy-1tx", "floor-1tx"):
        continue
    per_run = [b / a for a, b in zip(runs, times["cutover"])]
    print(f"{engine:<8} cutover / {which} = {c / statistics.median(runs):.2f}x "
          f"(median of per-run ratios {statistics.median(per_run):.2f}x), {n} migrations")
PY
done
