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
#                                             batched backfill, contract (swap))
# Runs: baseline (traffic, no migration), naive (the changes as written, no lock timeout),
# naive+blocker (the same behind a long transaction: the outage guarded execution avoids),
# guarded (the safe forms, cutover's guard on), guarded+blocker (the same with a long
# transaction holding a lock on `orders` when it starts: the lock timeout and the retries
# at work). For each: p50, p99, max latency of the traffic's transactions, the longest
# stall (the longest time in which no transaction completed), the migration's
# total time, and the retries. Knobs: RATE (100 tps), CLIENTS (4), BATCH (the backfills'
# rows per batch, 2000), BLOCK_SECS (6), BASELINE_SECS (30), ONLY ("baseline guarded": only
# those runs), CUTOVER (the binary). Uses psql/pgbench as the test suite's admin user; makes and
# drops the databases `cutover_traffic*`.
set -euo pipefail
ROWS=${1:-2000000}
RATE=${RATE:-100}
CLIENTS=${CLIENTS:-4}
BATCH=${BATCH:-2000}
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
-- cutover:backfill batch=$BATCH pause=20ms
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
-- cutover:backfill batch=$BATCH pause=20ms
UPDATE orders SET amount_new = amount WHERE amount_new IS NULL;
SQL
cat >"$WORK/guarded/8_amount_contract.sql" <<'SQL'
-- cutover:phase contract
DROP TRIGGER orders_amount_dual ON orders;
DROP FUNCTION orders_amount_dual();
ALTER TABLE orders DROP COLUMN amount;
ALTER TABLE orders RENAME COLUMN amount_new TO amount;
ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;
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
    "$CUTOVER" --config "$WORK/$name/cutover.toml" --env bench migrate >"$WORK/$name/migrate.log" 2>&1 \
      || { echo "$name: migrate failed" >&2; cat "$WORK/$name/migrate.log" >&2; }
  else
    sleep "${BASELINE_SECS:-30}"
  fi
  e=$(now)
  [ -n "$bpid" ] && wait "$bpid"
  sleep 3
  kill -TERM "$bench" 2>/dev/null || true
  wait "$bench" 2>/dev/null || true
  python3 - "$name" "$s" "$e" "$WORK/$name" <<'PY'
import glob, sys
name, s, e, d = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lat, done = [], []
for f in glob.glob(d + "/tx*"):
    for line in open(f):
        p = line.split()
        if len(p) < 6 or not p[2].isdigit() or not p[5].isdigit():
            continue
        t = int(p[4]) + int(p[5]) / 1e6  # when the transaction ended
        if t < s - 1 or t > e + 3:
            continue  # the window around the migration (and the same length for the baseline)
        lat.append(int(p[2]) / 1000)
        done.append(t)
lat.sort()
done.sort()
# The longest stall: the longest time in which no transaction of any client completed.
stall = [(b - a) * 1000 for a, b in zip(done, done[1:])] or [0]
q = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))]
retries = sum(l.count("lock timeout:") for l in open(d + "/migrate.log")) if not name.startswith("baseline") else 0
took = f"{e - s:.1f}" if not name.startswith("baseline") else "-"
print(f"| {name} | {len(lat)} | {q(0.5):.1f} | {q(0.99):.1f} | {lat[-1]:.0f} | {max(stall):.0f} | {took} | {retries} |")
PY
}

echo "| run | transactions | p50 ms | p99 ms | max ms | longest stall ms | migration s | lock retries |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
run baseline none 'lock_timeout = "off"' no
run naive naive 'lock_timeout = "off"' no
run naive+blocker naive 'lock_timeout = "off"' yes
run guarded guarded 'lock_timeout = "500ms"' no
run guarded+blocker guarded "lock_timeout = \"500ms\"
tries = 30
retry_for = \"5m\"
backoff = \"200ms\"
max_backoff = \"2s\"" yes
# The traffic alone again: the machine's load drifts, so the baseline is taken at both ends.
run baseline-after none 'lock_timeout = "off"' no
