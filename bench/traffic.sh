#!/usr/bin/env bash
# bench/traffic.sh [ROWS] — issue 12: schema changes under live traffic, PostgreSQL.
#
# A ROWS-row table `orders` (default 2,000,000) with `customers` (50,000), and pgbench
# running a custom read/write script (read one order, update it) at a steady rate (RATE tps,
# CLIENTS clients) while cutover applies four changes:
#   1. a column with a volatile default      (naive: ADD COLUMN … DEFAULT gen_random_uuid(),
#                                             a rewrite; guarded: add, set the default for
#                                             new rows, batched backfill)
#   2. a foreign key                          (naive: ADD CONSTRAINT … FOREIGN KEY, a scan
#                                             under a write lock; guarded: NOT VALID, then
#                                             VALIDATE CONSTRAINT)
#   3. an index                               (naive: CREATE INDEX; guarded: CONCURRENTLY)
#   4. a type change, int → bigint            (naive: ALTER COLUMN TYPE, a rewrite; guarded:
#                                             expand (new column, dual-write trigger),
#                                             batched backfill, NOT NULL proved by a
#                                             validated CHECK, contract (swap))
# Runs: baseline (traffic, no migration), naive (the changes as written, no lock timeout),
# naive+blocker (the same behind a long transaction: the outage guarded execution avoids),
# guarded (the safe forms, cutover's guard on), guarded+blocker (the same with a long
# transaction holding a lock on `orders` when it starts: the lock timeout and the retries
# at work). Each change is applied on its own (`migrate --to`) and timed: the figures per
# change go to stderr (WAITS=1 adds what the traffic waited on meanwhile, sampled from
# pg_stat_activity). For each run: p50, p99, max latency of the traffic's transactions, the longest
# stall (the longest time in which no transaction completed), the migration's
# total time, and the retries. ROUNDS (1) repeats the runs, interleaved, and ends with
# the medians and each run's p99 over its own round's baseline. Knobs: RATE (100 tps), CLIENTS (4), BATCH (the backfills'
# rows per batch, 2000), BACKFILL (their directive's arguments, "batch=$BATCH pause=20ms"), BLOCK_SECS (6), BASELINE_SECS (30), ONLY ("baseline guarded": only
# those runs), CUTOVER (the binary). Uses psql/pgbench as the test suite's admin user; makes and
# drops the databases `cutover_traffic*`.
set -euo pipefail
ROWS=${1:-2000000}
RATE=${RATE:-100}
CLIENTS=${CLIENTS:-4}
BATCH=${BATCH:-2000}
# The backfills' directive arguments (e.g. "batch=500 batch_time=50ms pause=20ms").
BACKFILL=${BACKFILL:-batch=$BATCH pause=20ms}
# Which runs (all by default): baseline naive naive+blocker guarded guarded+blocker baseline-after
ONLY=${ONLY:-}
BLOCK_SECS=${BLOCK_SECS:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
CUTOVER=${CUTOVER:-$HERE/../target/debug/cutover}
WORK=$(mktemp -d)
TPL=cutover_traffic_tpl
export PGSSLMODE=disable PGHOST=127.0.0.1 PGUSER=postgres
pg() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
cleanup() {
  for d in $TPL cutover_traffic; do pg -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building $TPL: $ROWS orders, 50000 customers" >&2
pg -d postgres -c "DROP DATABASE IF EXISTS $TPL WITH (FORCE)" -c "CREATE DATABASE $TPL"
pg -d $TPL \
  -c "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)" \
  -c "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50000) g" \
  -c "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount int NOT NULL, note text NOT NULL)" \
  -c "INSERT INTO orders SELECT g, 1 + g % 50000, g % 997, md5(g::text) FROM generate_series(1, $ROWS) g" \
  -c "VACUUM ANALYZE"

cat >"$WORK/traffic.sql" <<SQL
\set id random(1, $ROWS)
BEGIN;
SELECT amount, customer_id FROM orders WHERE id = :id;
UPDATE orders SET amount = amount + 1 WHERE id = :id;
END;
SQL

# The four changes, as written (naive) and the safe way (guarded).
mkdir -p "$WORK/naive" "$WORK/guarded"
cat >"$WORK/naive/1_token.sql" <<'SQL'
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
SQL
cat >"$WORK/naive/2_fk.sql" <<'SQL'
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
SQL
cat >"$WORK/naive/3_index.sql" <<'SQL'
CREATE INDEX orders_customer ON orders (customer_id);
SQL
cat >"$WORK/naive/4_amount.sql" <<'SQL'
ALTER TABLE orders ALTER COLUMN amount TYPE bigint;
SQL
cat >"$WORK/guarded/1_token.sql" <<'SQL'
ALTER TABLE orders ADD COLUMN token uuid;
ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();
SQL
cat >"$WORK/guarded/2_token_backfill.sql" <<SQL
-- cutover:backfill $BACKFILL
UPDATE orders SET token = gen_random_uuid() WHERE token IS NULL;
SQL
cat >"$WORK/guarded/3_fk.sql" <<'SQL'
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
SQL
cat >"$WORK/guarded/4_fk_validate.sql" <<'SQL'
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
SQL
cat >"$WORK/guarded/5_index.sql" <<'SQL'
-- cutover:no-transaction
CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);
SQL
cat >"$WORK/guarded/6_amount_expand.sql" <<'SQL'
-- cutover:phase expand
ALTER TABLE orders ADD COLUMN amount_new bigint;
CREATE FUNCTION orders_amount_dual() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.amount_new := NEW.amount; RETURN NEW; END $$;
CREATE TRIGGER orders_amount_dual BEFORE INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION orders_amount_dual();
SQL
cat >"$WORK/guarded/7_amount_backfill.sql" <<SQL
-- cutover:backfill $BACKFILL
UPDATE orders SET amount_new = amount WHERE amount_new IS NULL;
SQL
# NOT NULL proved by a validated CHECK first (no write lock), so that SET NOT NULL in the
# contract step does not scan the table under its ACCESS EXCLUSIVE lock (PostgreSQL 12+).
cat >"$WORK/guarded/8_amount_check.sql" <<'SQL'
ALTER TABLE orders ADD CONSTRAINT orders_amount_new_set CHECK (amount_new IS NOT NULL) NOT VALID;
SQL
cat >"$WORK/guarded/9_amount_validate.sql" <<'SQL'
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_new_set;
SQL
cat >"$WORK/guarded/10_amount_contract.sql" <<'SQL'
-- cutover:phase contract
DROP TRIGGER orders_amount_dual ON orders;
DROP FUNCTION orders_amount_dual();
ALTER TABLE orders DROP COLUMN amount;
ALTER TABLE orders RENAME COLUMN amount_new TO amount;
ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_amount_new_set;
SQL

# One run: a fresh copy of the table, traffic, the migration after 3 s of traffic (none for
# the baseline), traffic until 3 s after it ends.
run() {
  local name=$1 dir=$2 guard=$3 blocker=$4
  case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
  pg -d postgres -c "DROP DATABASE IF EXISTS cutover_traffic WITH (FORCE)" -c "CREATE DATABASE cutover_traffic TEMPLATE $TPL"
  local url="postgres://postgres@127.0.0.1:5432/cutover_traffic?sslmode=disable"
  mkdir -p "$WORK/$name"
  printf '[environments.bench]\nurl = "%s"\nmigrations = "%s"\n[environments.bench.guard]\n%s\n' \
    "$url" "$WORK/$dir" "$guard" >"$WORK/$name/cutover.toml"
  (cd "$WORK/$name" && exec pgbench -n -c "$CLIENTS" -j 2 -R "$RATE" -T 900 -f "$WORK/traffic.sql" \
     -l --log-prefix="$WORK/$name/tx" cutover_traffic >/dev/null 2>&1) &
  local bench=$!
  # WAITS=1: what the traffic's sessions wait on, sampled every 10 ms (for the breakdown).
  local sampler=""
  if [ -n "${WAITS:-}" ]; then
    while :; do echo "SELECT extract(epoch FROM clock_timestamp()), coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity WHERE application_name = 'pgbench' AND state = 'active'; SELECT pg_sleep(0.01);"; done \
      | psql -X -q -t -A -F ' ' -d cutover_traffic >"$WORK/$name/waits" 2>/dev/null &
    sampler=$!
  fi
  sleep 3
  local bpid=""
  if [ "$blocker" = yes ]; then
    pg -d cutover_traffic -c "BEGIN; SELECT count(*) FROM orders WHERE id = 1; SELECT pg_sleep($BLOCK_SECS); COMMIT;" >/dev/null &
    bpid=$!
    sleep 0.5
  fi
  local s e
  s=$(now)
  if [ "$dir" != none ]; then
    # One change at a time (`migrate --to`), each timed, for the breakdown per change.
    local f v t
    : >"$WORK/$name/steps"
    for f in $(cd "$WORK/$dir" && ls -- *.sql | sort -n); do
      v=${f%%_*}
      t=$(now)
      "$CUTOVER" --config "$WORK/$name/cutover.toml" --env bench migrate --to "$v" >>"$WORK/$name/migrate.log" 2>&1 \
        || { echo "$name: migrate failed at $f" >&2; cat "$WORK/$name/migrate.log" >&2; break; }
      echo "$f $t $(now)" >>"$WORK/$name/steps"
    done
  else
    sleep "${BASELINE_SECS:-30}"
  fi
  e=$(now)
  [ -n "$bpid" ] && wait "$bpid"
  sleep 3
  kill -TERM "$bench" 2>/dev/null || true
  [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; }
  wait "$bench" 2>/dev/null || true
  python3 "$HERE/traffic_report.py" "$name" "$s" "$e" "$WORK/$name"
}

echo "| run | transactions | p50 ms | p99 ms | max ms | longest stall ms | migration s | lock retries |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
# ROUNDS (1): the runs over again, interleaved so that the machine's drift hits every kind.
for round in $(seq 1 "${ROUNDS:-1}"); do
  run baseline none 'lock_timeout = "off"' no
  run naive naive 'lock_timeout = "off"' no
  run naive+blocker naive 'lock_timeout = "off"' yes
  run guarded guarded 'lock_timeout = "500ms"' no
  run guarded+blocker guarded "lock_timeout = \"500ms\"
tries = 30
retry_for = \"5m\"
backoff = \"200ms\"
max_backoff = \"2s\"" yes
done | tee "$WORK/rows"
# The traffic alone again: the machine's load drifts, so the baseline is taken at both ends.
run baseline-after none 'lock_timeout = "off"' no
if [ "${ROUNDS:-1}" -gt 1 ]; then python3 "$HERE/traffic_report.py" --medians "$WORK/rows"; fi
