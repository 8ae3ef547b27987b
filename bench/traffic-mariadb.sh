#!/usr/bin/env bash
# bench/traffic-mariadb.sh [ROWS] — issue 12: schema changes under live traffic, MariaDB.
#
# bench/traffic.sh's runs on the local MariaDB (127.0.0.1:3306, root): a ROWS-row InnoDB
# table `orders` (default 2,000,000) with `customers` (50,000), and bench/traffic_client.py
# (pgbench's part: read one order, update it, commit; RATE tps over CLIENTS connections,
# latencies from the scheduled start) while cutover applies four changes:
#   1. a column with a volatile default      (naive: ADD COLUMN … DEFAULT (UUID()), a table
#                                             copy that blocks writes; guarded: ADD COLUMN
#                                             ALGORITHM=INSTANT, SET DEFAULT ALGORITHM=INSTANT,
#                                             a batched backfill)
#   2. an index                               (naive: CREATE INDEX, which MariaDB builds
#                                             online by default; guarded: the same with
#                                             ALGORITHM=INPLACE LOCK=NONE, so it can never
#                                             fall back to a copy)
#   3. a foreign key on the large table       (naive: ADD FOREIGN KEY, a table copy; guarded:
#                                             foreign_key_checks = 0 and ALGORITHM=INPLACE,
#                                             LOCK=NONE: the rows are not checked, and this
#                                             data has no orphans by construction)
#   4. a type change, int → bigint            (naive: MODIFY … BIGINT, a table copy; guarded:
#                                             expand (ADD COLUMN … NOT NULL DEFAULT 0 INSTANT,
#                                             dual-write triggers), batched backfill, contract
#                                             (triggers dropped, the old column dropped and
#                                             the new one renamed, INSTANT))
# Runs: baseline, naive, naive+blocker, guarded, guarded+blocker (a transaction that read
# `orders` holds its metadata lock for BLOCK_SECS when the migration starts: DDL waits for
# it, and every statement queued behind the waiting DDL too; cutover's guard sets
# lock_wait_timeout, whole seconds on MariaDB, and retries). The same table and knobs as
# bench/traffic.sh (RATE 100, CLIENTS 4, BATCH 2000, BACKFILL, BLOCK_SECS 6, BASELINE_SECS 30,
# ONLY, ROUNDS, CUTOVER, WAITS). Makes and drops the databases `cutover_traffic*`.
# Needs /usr/bin/python3 with PyMySQL (Debian: apt-get install python3-pymysql).
set -euo pipefail
ROWS=${1:-2000000}
RATE=${RATE:-100}
CLIENTS=${CLIENTS:-4}
BATCH=${BATCH:-2000}
# The backfills' directive arguments (e.g. "batch=500 batch_time=50ms pause=20ms").
BACKFILL=${BACKFILL:-batch=$BATCH pause=20ms}
ONLY=${ONLY:-}
BLOCK_SECS=${BLOCK_SECS:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
CUTOVER=${CUTOVER:-$HERE/../target/debug/cutover}
PY=${PY:-/usr/bin/python3}
"$PY" -c "import pymysql" 2>/dev/null \
  || { echo "bench/traffic-mariadb.sh needs PyMySQL for $PY: apt-get install python3-pymysql" >&2; exit 2; }
WORK=$(mktemp -d)
TPL=cutover_traffic_tpl
my() { mariadb -h 127.0.0.1 -P 3306 -u root --batch --skip-column-names "$@"; }
now() { date +%s.%N; }
cleanup() {
  my -e "DROP DATABASE IF EXISTS $TPL; DROP DATABASE IF EXISTS cutover_traffic" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building $TPL: $ROWS orders, 50000 customers" >&2
my -e "DROP DATABASE IF EXISTS $TPL; CREATE DATABASE $TPL"
my "$TPL" -e "
  CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB;
  INSERT INTO customers SELECT seq, CONCAT('c', seq) FROM seq_1_to_50000;
  CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount INT NOT NULL,
    note VARCHAR(40) NOT NULL) ENGINE=InnoDB;
  INSERT INTO orders SELECT seq, 1 + seq % 50000, seq % 997, MD5(seq) FROM seq_1_to_$ROWS;"

# The four changes, as written (naive) and the safe way (guarded), one DDL per migration
# (each commits on its own on MariaDB).
mkdir -p "$WORK/naive" "$WORK/guarded"
cat >"$WORK/naive/1_token.sql" <<'SQL'
ALTER TABLE orders ADD COLUMN token CHAR(36) DEFAULT (UUID());
SQL
cat >"$WORK/naive/2_index.sql" <<'SQL'
CREATE INDEX orders_customer ON orders (customer_id);
SQL
cat >"$WORK/naive/3_fk.sql" <<'SQL'
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
SQL
cat >"$WORK/naive/4_amount.sql" <<'SQL'
ALTER TABLE orders MODIFY amount BIGINT NOT NULL;
SQL
cat >"$WORK/guarded/01_token.sql" <<'SQL'
ALTER TABLE orders ADD COLUMN token CHAR(36) NULL, ALGORITHM=INSTANT;
SQL
cat >"$WORK/guarded/02_token_default.sql" <<'SQL'
ALTER TABLE orders ALTER COLUMN token SET DEFAULT (UUID()), ALGORITHM=INSTANT;
SQL
cat >"$WORK/guarded/03_token_backfill.sql" <<SQL
-- cutover:backfill $BACKFILL
UPDATE orders SET token = UUID() WHERE token IS NULL;
SQL
cat >"$WORK/guarded/04_index.sql" <<'SQL'
CREATE INDEX orders_customer ON orders (customer_id) ALGORITHM=INPLACE LOCK=NONE;
SQL
cat >"$WORK/guarded/06_fk.sql" <<'SQL'
SET SESSION foreign_key_checks = 0;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id), ALGORITHM=INPLACE, LOCK=NONE;
SQL
# NOT NULL with a constant default is added instantly, so that the contract step has no
# NOT NULL to add (which would rebuild the table); the backfill fills the rows that differ.
cat >"$WORK/guarded/07_amount_expand.sql" <<'SQL'
-- cutover:phase expand
ALTER TABLE orders ADD COLUMN amount_new BIGINT NOT NULL DEFAULT 0, ALGORITHM=INSTANT;
SQL
cat >"$WORK/guarded/08_amount_dual_insert.sql" <<'SQL'
-- cutover:phase expand
CREATE TRIGGER orders_amount_ins BEFORE INSERT ON orders FOR EACH ROW SET NEW.amount_new = NEW.amount;
SQL
cat >"$WORK/guarded/09_amount_dual_update.sql" <<'SQL'
-- cutover:phase expand
CREATE TRIGGER orders_amount_upd BEFORE UPDATE ON orders FOR EACH ROW SET NEW.amount_new = NEW.amount;
SQL
cat >"$WORK/guarded/10_amount_backfill.sql" <<SQL
-- cutover:backfill $BACKFILL
UPDATE orders SET amount_new = amount WHERE amount_new <> amount;
SQL
cat >"$WORK/guarded/11_amount_contract_triggers.sql" <<'SQL'
-- cutover:phase contract
DROP TRIGGER orders_amount_ins;
DROP TRIGGER orders_amount_upd;
SQL
cat >"$WORK/guarded/12_amount_contract.sql" <<'SQL'
-- cutover:phase contract
ALTER TABLE orders DROP COLUMN amount, CHANGE amount_new amount BIGINT NOT NULL, ALGORITHM=INSTANT;
SQL

# One run: a fresh copy of the tables, traffic, the migration after 3 s of traffic (none
# for the baseline), traffic until 3 s after it ends.
run() {
  local name=$1 dir=$2 guard=$3 blocker=$4
  case " ${ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
  my -e "DROP DATABASE IF EXISTS cutover_traffic; CREATE DATABASE cutover_traffic"
  my cutover_traffic -e "
    CREATE TABLE customers LIKE $TPL.customers; INSERT INTO customers SELECT * FROM $TPL.customers;
    CREATE TABLE orders LIKE $TPL.orders; INSERT INTO orders SELECT * FROM $TPL.orders;
    ANALYZE TABLE customers, orders" >/dev/null
  # The copy's pages written out before the traffic starts (else InnoDB flushes them
  # during the run, and a baseline can stall for seconds).
  my cutover_traffic -e "FLUSH TABLES customers, orders FOR EXPORT; UNLOCK TABLES"
  local i dirty
  for i in $(seq 1 60); do
    dirty=$(my -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'")
    [ "$dirty" -lt 500 ] && break
    sleep 1
  done
  sleep 3
  local url="mysql://root@127.0.0.1:3306/cutover_traffic"
  mkdir -p "$WORK/$name"
  rm -f "$WORK/$name"/tx* "$WORK/$name/migrate.log" "$WORK/$name/steps"
  printf '[environments.bench]\nurl = "%s"\nmigrations = "%s"\n[environments.bench.guard]\n%s\n' \
    "$url" "$WORK/$dir" "$guard" >"$WORK/$name/cutover.toml"
  "$PY" "$HERE/traffic_client.py" 127.0.0.1 3306 cutover_traffic "$ROWS" "$RATE" "$CLIENTS" 900 \
    "$WORK/$name/tx" 2>"$WORK/$name/client.log" &
  local bench=$!
  # WAITS=1: what the traffic's statements are doing, sampled every 10 ms.
  local sampler=""
  if [ -n "${WAITS:-}" ]; then
    while :; do echo "SELECT UNIX_TIMESTAMP(NOW(6)), STATE FROM information_schema.PROCESSLIST WHERE DB = 'cutover_traffic' AND COMMAND = 'Query' AND INFO LIKE '% WHERE id = %'; DO SLEEP(0.01);"; done \
      | mariadb -h 127.0.0.1 -P 3306 -u root --batch --skip-column-names cutover_traffic >"$WORK/$name/waits" 2>/dev/null &
    sampler=$!
  fi
  sleep 3
  local bpid=""
  if [ "$blocker" = yes ]; then
    # Reading `orders` in a transaction holds its metadata lock until COMMIT.
    my cutover_traffic -e "BEGIN; SELECT count(*) FROM orders WHERE id = 1; DO SLEEP($BLOCK_SECS); COMMIT;" >/dev/null &
    bpid=$!
    sleep 0.5
  fi
  local s e
  s=$(now)
  if [ "$dir" != none ]; then
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
  "$PY" "$HERE/traffic_report.py" "$name" "$s" "$e" "$WORK/$name"
  if [ -s "$WORK/$name/client.log" ]; then sed "s/^/  $name: /" "$WORK/$name/client.log" >&2; fi
}

echo "| run | transactions | p50 ms | p99 ms | max ms | longest stall ms | migration s | lock retries |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for round in $(seq 1 "${ROUNDS:-1}"); do
  run baseline none 'lock_timeout = "off"' no
  run naive naive 'lock_timeout = "off"' no
  run naive+blocker naive 'lock_timeout = "off"' yes
  run guarded guarded 'lock_timeout = "1s"' no
  run guarded+blocker guarded "lock_timeout = \"1s\"
tries = 30
retry_for = \"5m\"
backoff = \"200ms\"
max_backoff = \"2s\"" yes
done | tee "$WORK/rows"
if [ "${ROUNDS:-1}" -gt 1 ]; then "$PY" "$HERE/traffic_report.py" --medians "$WORK/rows"; fi
