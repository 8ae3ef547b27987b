#!/usr/bin/env bash
# bench/transfer.sh [mariadb-pg] [pg-mariadb] [pg-sqlite] [memory]
# `cutover transfer` beside pgloader and the engines' native bulk loads, on ../shared/bench's
# ~2M-row data set (lib/prepare-data.sh: customers, orders, order_items in bench_src, on
# both servers, and as CSV), each in one run so that the ratios are of one machine state:
#   mariadb-pg  ../shared/bench/04-transfer.sh: pgloader (tables, keys, FKs), cutover
#               transfer --create-tables (keys and FKs after the load, reconciliation read
#               back), and the floor: server-side COPY FROM the CSV, bare and then the keys.
#   pg-mariadb  cutover transfer vs the native client floor: the same tables (from
#               mariadb-dump --no-data) then LOAD DATA LOCAL INFILE of the CSV.
#   pg-sqlite   cutover transfer vs the native client floor: sqlite3 .import --csv into the
#               same tables.
#   memory      peak RSS (/usr/bin/time -v) of cutover transfer MariaDB -> PostgreSQL at 1M
#               and 4M rows (prepare-data.sh --force with scaled N_*; restores 2M after).
# Prints medians and cutover's ratio to each peer/floor. Needs ../shared/bench/setup.sh
# (servers, bench user, pgloader, hyperfine) and a release build.
# Env: RUNS (3), CUTOVER (target/release/cutover), BENCH_WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/bench"
export CUTOVER=${CUTOVER:-$here/../target/release/cutover}
source "$shared/lib/common.sh"
parts=("$@"); [[ ${#parts[@]} -gt 0 ]] || parts=(mariadb-pg pg-mariadb pg-sqlite memory)
DATA="$BENCH_WORK/data"
L="$shared/lib"

xfer() {   # xfer FROM TO: the cutover command line for one transfer
  echo "$(q "$CUTOVER_BIN") -q transfer --from $(q "$1") --to $(q "$2") --create-tables"
}

for part in "${parts[@]}"; do
  case $part in
    mariadb-pg)
      CUTOVER_TRANSFER_ARGS="-q transfer --from {SRC} --to {DST} --create-tables" \
        bash "$shared/04-transfer.sh"
      ;;
    pg-mariadb)
      bash "$L/prepare-data.sh" >/dev/null
      start_results transfer-pg-mariadb
      G="pg->mariadb"
      SCHEMA="$BENCH_WORK/my-schema.sql"
      my_c --skip-column-names -e "select 1" >/dev/null
      mariadb-dump -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${MY_PASS:+-p"$MY_PASS"} --no-data bench_src >"$SCHEMA"
      LOAD="mariadb --local-infile=1 -h $MY_HOST -P $MY_PORT -u $MY_USER ${MY_PASS:+-p$MY_PASS} bench_xfer"
      FLOOR="$LOAD < $SCHEMA"
      for t in customers orders order_items; do
        FLOOR+=" && $LOAD -e \"SET foreign_key_checks=0; LOAD DATA LOCAL INFILE '$DATA/$t.csv' INTO TABLE $t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\\\"'\""
      done
      bench "$G" "cutover transfer" "$RUNS" "bash $L/reset-db.sh mariadb bench_xfer" \
        "$(xfer "$(url_for pg bench_src cutover)" "$(url_for mariadb bench_xfer cutover)")"
      bench "$G" "floor: schema + LOAD DATA LOCAL" "$RUNS" "bash $L/reset-db.sh mariadb bench_xfer" "$FLOOR"
      report
      ;;
    pg-sqlite)
      bash "$L/prepare-data.sh" >/dev/null
      start_results transfer-pg-sqlite
      G="pg->sqlite"
      DIR="$BENCH_WORK/sqlite-xfer"
      # The tables cutover creates from bench_src (lib/pg-tables.sql), keys included.
      DDL="CREATE TABLE customers (id bigint NOT NULL PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamp NOT NULL, note text NOT NULL);
CREATE TABLE orders (id bigint NOT NULL PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), amount numeric(12,2) NOT NULL, status varchar(16) NOT NULL, created_at timestamp NOT NULL, payload text NOT NULL);
CREATE TABLE order_items (id bigint NOT NULL PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), sku varchar(32) NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL, descr text NOT NULL);"
      IMPORT="sqlite3 $DIR/floor.db $(q "$DDL")"
      for t in customers orders order_items; do IMPORT+=" && sqlite3 $DIR/floor.db '.import --csv $DATA/$t.csv $t'"; done
      bench "$G" "cutover transfer" "$RUNS" "bash $L/reset-db.sh sqlite $DIR" \
        "$(xfer "$(url_for pg bench_src cutover)" "sqlite://$DIR/cutover.db")"
      bench "$G" "floor: sqlite3 .import --csv" "$RUNS" "bash $L/reset-db.sh sqlite $DIR" "$IMPORT"
      report
      ;;
    memory)
      for scale in 1 4; do
        N_CUSTOMERS=$((100000 * scale)) N_ORDERS=$((400000 * scale)) N_ITEMS=$((500000 * scale)) \
          bash "$L/prepare-data.sh" --force >/dev/null
        bash "$L/reset-db.sh" pg bench_xfer
        /usr/bin/time -v bash -c "$(xfer "$(url_for mariadb bench_src cutover)" "$(url_for pg bench_xfer cutover)")" \
          2>"$BENCH_WORK/memory-$scale.txt" >/dev/null
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_WORK/memory-$scale.txt")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$BENCH_WORK/memory-$scale.txt")
        echo "memory: ${scale}M rows MariaDB -> PostgreSQL: peak RSS ${rss} kB, wall ${wall}"
      done
      bash "$L/prepare-data.sh" --force >/dev/null
      ;;
    *) echo "bench/transfer.sh: unknown part $part" >&2; exit 2 ;;
  esac
done
