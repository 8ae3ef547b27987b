#!/usr/bin/env bash
# bench/transfer.sh [mariadb-pg] [pg-mariadb] [pg-sqlite] [memory]
# `cutover transfer` beside pgloader and the engines' native bulk loads, on ../shared/bench's
# ~2M-row data set (lib/prepare-data.sh: customers, orders, order_items in bench_src, on
# both servers, and as CSV). Each part runs its commands in interleaved rounds (one run of
# each command per round, RUNS rounds), so that load from other processes falls on every
# side alike, and prints per command the median, min and max, and cutover's ratio to each:
#   mariadb-pg  ../shared/bench/04-transfer.sh's commands: pgloader (tables, keys, FKs);
#               cutover transfer --create-tables (keys and FKs after the load, the
#               reconciliation read back); the floor, server-side COPY FROM the CSV into bare
#               tables and then the same keys (lib/pg-tables.sql, lib/pg-keys.sql); and
#               the native clients' pipe, `mariadb --batch | psql COPY FROM STDIN` table
#               after table, then the same keys (a floor with the source's read in it).
#   pg-mariadb  cutover transfer vs the native client floor: the same tables (from
#               mariadb-dump --no-data) then LOAD DATA LOCAL INFILE of the CSV.
#   pg-sqlite   cutover transfer vs the native client floor: sqlite3 .import --csv into the
#               same tables.
#   memory      peak RSS (/usr/bin/time -v) of cutover transfer MariaDB -> PostgreSQL at 1M
#               and 4M rows, from MariaDB databases bench_mem1 (half of bench_src) and
#               bench_mem4 (two copies, ids offset) built here; bench_src is left as it is.
# Needs ../shared/bench/setup.sh (servers, bench user, pgloader, hyperfine) and a release
# build. Env: RUNS (3), CUTOVER (target/release/cutover), BENCH_WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/bench"
export CUTOVER=${CUTOVER:-$here/../target/release/cutover}
source "$shared/lib/common.sh"
need_services pg mariadb
parts=("$@"); [[ ${#parts[@]} -gt 0 ]] || parts=(mariadb-pg pg-mariadb pg-sqlite memory)
DATA="$BENCH_WORK/data"
L="$shared/lib"
[[ -n $CUTOVER_BIN ]] || { echo "bench/transfer.sh: no cutover binary at $CUTOVER (cargo build --release --bin cutover)" >&2; exit 2; }

xfer() {   # xfer FROM TO: the cutover command line for one transfer
  echo "$(q "$CUTOVER_BIN") -q transfer --from $(q "$1") --to $(q "$2") --create-tables"
}

# rounds GROUP: runs the commands queued with `cmd` RUNS times, one run of each per round,
# then folds each command's rows into one (median, min, max over the rounds).
LABELS=() PREPS=() CMDS=() CHECK=()
cmd() { LABELS+=("$1"); PREPS+=("$2"); CMDS+=("$3"); }
rounds() {
  local group=$1 r i
  for ((r = 1; r <= RUNS; r++)); do
    echo "  -- round $r of $RUNS"
    for i in "${!LABELS[@]}"; do
      bench "$group" "${LABELS[$i]}" 1 "${PREPS[$i]}" "${CMDS[$i]}"
      [[ -z ${CHECK[$i]:-} ]] || eval "${CHECK[$i]}"
    done
  done
  awk -F'\t' -v OFS='\t' '
    $3 == "-" { failed[$2] = $7; nf[$2]++; next }
    { k = $2; if (!(k in n)) order[++m] = k; t[k, ++n[k]] = $3 + 0; g[k] = $1; note[k] = $7 }
    END {
      for (j = 1; j <= m; j++) {
        k = order[j]; c = n[k]
        for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++)
          if (t[k, b] < t[k, a]) { x = t[k, a]; t[k, a] = t[k, b]; t[k, b] = x }
        med = (c % 2) ? t[k, (c + 1) / 2] : (t[k, c / 2] + t[k, c / 2 + 1]) / 2
        print g[k], k, med, t[k, 1], t[k, c], c, note[k] ((k in nf) ? "; " nf[k] " more run(s) FAILED" : "")
      }
      for (k in failed) if (!(k in n)) print "'"$group"'", k, "-", "-", "-", 0, failed[k]
    }' "$RESULTS_TSV" >"$RESULTS_TSV.folded"
  mv "$RESULTS_TSV.folded" "$RESULTS_TSV"
  LABELS=() PREPS=() CMDS=() CHECK=()
  report
  ratios
}

# ratios: cutover's median against every other row's.
ratios() {
  awk -F'\t' '$2 ~ /^cutover/ && $3 != "-" { c = $3 }
    { m[NR] = $3; l[NR] = $2 }
    END { if (c == "") exit
          for (i = 1; i <= NR; i++) if (l[i] !~ /^cutover/ && m[i] != "-")
            printf "  cutover / %s: %.2fx the time (%.2fx the rate)\n", l[i], c / m[i], m[i] / c }' "$RESULTS_TSV"
}

# rows_check ENGINE DB: the row count of the three tables, appended to the last row's note.
rows_check() {
  local got
  case $1 in
    pg) got=$(psql_c -d "$2" -Atc "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)" 2>/dev/null || echo "?") ;;
    pgloader) got=$(psql_c -d "$2" -Atc "select (select count(*) from bench_src.customers)+(select count(*) from bench_src.orders)+(select count(*) from bench_src.order_items)" 2>/dev/null || echo "?") ;;
    mariadb) got=$(my_c -N -D "$2" -e "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)" 2>/dev/null || echo "?") ;;
    sqlite) got=$(sqlite3 "$2" "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)" 2>/dev/null || echo "?") ;;
  esac
  [[ $got == "$ROWS" ]] && note_last "$ROWS rows" || note_last "ROW COUNT $got != $ROWS"
}

bash "$L/prepare-data.sh" >/dev/null
ROWS=$(my_c -N -D bench_src -e "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)")
echo "== bench/transfer.sh: $ROWS rows, $RUNS interleaved rounds; $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
tool_versions | sed 's/^/   /'

for part in "${parts[@]}"; do
  case $part in
    mariadb-pg)
      start_results transfer-mariadb-pg
      G="mariadb->pg"
      [[ -n $PGLOADER ]] || { echo "pgloader not found: run $shared/setup.sh" >&2; exit 2; }
      # pgloader's defaults: create tables, indexes, FKs; target schema = source db name.
      cmd "pgloader" "bash $L/reset-db.sh pg bench_xfer; rm -rf $BENCH_WORK/transfer/pgloader" \
        "$(q "$PGLOADER") --root-dir $BENCH_WORK/transfer/pgloader $(q "$(url_for mariadb bench_src pgloader)") $(q "$(url_for pg bench_xfer pgloader)")"
      CHECK[0]="rows_check pgloader bench_xfer"
      cmd "cutover transfer" "bash $L/reset-db.sh pg bench_xfer" \
        "$(xfer "$(url_for mariadb bench_src cutover)" "$(url_for pg bench_xfer cutover)")"
      CHECK[1]="rows_check pg bench_xfer"
      COPY="psql $(printf '%s ' -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER") -d bench_copy"
      for t in customers orders order_items; do COPY+=" -c \"COPY $t FROM '$DATA/$t.csv' WITH (FORMAT csv)\""; done
      PREP="bash $L/reset-db.sh pg bench_copy && psql -X -q -h $PG_HOST -p $PG_PORT -U $PG_USER -d bench_copy -f $L/pg-tables.sql"
      cmd "floor: COPY FROM csv + keys/FKs" "$PREP" "$COPY -f $L/pg-keys.sql"
      CHECK[2]="rows_check pg bench_copy"
      # The native clients' pipe: the same rows read out of MariaDB (--batch escapes tabs,
      # newlines and backslashes as COPY's text format reads them; the data set has no
      # NULLs), table after table, then the same keys: a floor with the source's read in it.
      PSQL="psql $(printf '%s ' -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER") -d bench_copy"
      PIPE="set -o pipefail"
      for t in customers orders order_items; do
        PIPE+=" && mariadb -h $MY_HOST -P $MY_PORT -u $MY_USER ${MY_PASS:+-p$MY_PASS} --batch --quick --skip-column-names -D bench_src -e 'SELECT * FROM $t ORDER BY id' | $PSQL -c 'COPY $t FROM STDIN'"
      done
      cmd "pipe: mariadb | psql COPY + keys/FKs" "$PREP" "$PIPE && $PSQL -f $L/pg-keys.sql"
      CHECK[3]="rows_check pg bench_copy"
      cmd "bare COPY FROM csv, no keys" "$PREP" "$COPY"
      rounds "$G"
      ;;
    pg-mariadb)
      start_results transfer-pg-mariadb
      G="pg->mariadb"
      SCHEMA="$BENCH_WORK/my-schema.sql"
      mariadb-dump -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${MY_PASS:+-p"$MY_PASS"} --no-data bench_src >"$SCHEMA"
      LOAD="mariadb --local-infile=1 -h $MY_HOST -P $MY_PORT -u $MY_USER ${MY_PASS:+-p$MY_PASS} bench_xfer"
      FLOOR="$LOAD < $SCHEMA"
      for t in customers orders order_items; do
        FLOOR+=" && $LOAD -e \"SET foreign_key_checks=0; LOAD DATA LOCAL INFILE '$DATA/$t.csv' INTO TABLE $t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\\\"'\""
      done
      cmd "cutover transfer" "bash $L/reset-db.sh mariadb bench_xfer" \
        "$(xfer "$(url_for pg bench_src cutover)" "$(url_for mariadb bench_xfer cutover)")"
      CHECK[0]="rows_check mariadb bench_xfer"
      cmd "floor: schema + LOAD DATA LOCAL" "bash $L/reset-db.sh mariadb bench_xfer" "$FLOOR"
      CHECK[1]="rows_check mariadb bench_xfer"
      rounds "$G"
      ;;
    pg-sqlite)
      start_results transfer-pg-sqlite
      G="pg->sqlite"
      DIR="$BENCH_WORK/sqlite-xfer"
      # The tables cutover creates from bench_src (lib/pg-tables.sql), keys included.
      DDL="CREATE TABLE customers (id bigint NOT NULL PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamp NOT NULL, note text NOT NULL);
CREATE TABLE orders (id bigint NOT NULL PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), amount numeric(12,2) NOT NULL, status varchar(16) NOT NULL, created_at timestamp NOT NULL, payload text NOT NULL);
CREATE TABLE order_items (id bigint NOT NULL PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), sku varchar(32) NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL, descr text NOT NULL);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);"
      IMPORT="sqlite3 $DIR/floor.db $(q "$DDL")"
      for t in customers orders order_items; do IMPORT+=" && sqlite3 $DIR/floor.db '.import --csv $DATA/$t.csv $t'"; done
      cmd "cutover transfer" "bash $L/reset-db.sh sqlite $DIR" \
        "$(xfer "$(url_for pg bench_src cutover)" "sqlite://$DIR/cutover.db")"
      CHECK[0]="rows_check sqlite $DIR/cutover.db"
      cmd "floor: sqlite3 .import --csv" "bash $L/reset-db.sh sqlite $DIR" "$IMPORT"
      CHECK[1]="rows_check sqlite $DIR/floor.db"
      rounds "$G"
      ;;
    memory)
      # Scaled copies of bench_src in MariaDB: copy k of each row gets ids offset by k times
      # the table's size, so keys stay unique and foreign keys resolve within the copy.
      nc=$(my_c -N -D bench_src -e "select count(*) from customers")
      no=$(my_c -N -D bench_src -e "select count(*) from orders")
      ni=$(my_c -N -D bench_src -e "select count(*) from order_items")
      for spec in "1 half" "4 2"; do
        set -- $spec; db=bench_mem$1
        if [[ $(my_c -N -e "select count(*) from information_schema.tables where table_schema='$db'") != 3 ]]; then
          if [[ $2 == half ]]; then copies=1; keep="WHERE id <= @n / 2"; else copies=$2; keep=""; fi
          sql="DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;
               SET foreign_key_checks = 0;
               CREATE TABLE customers LIKE bench_src.customers; CREATE TABLE orders LIKE bench_src.orders;
               CREATE TABLE order_items LIKE bench_src.order_items;"
          for ((k = 0; k < copies; k++)); do
            sql+="SET @n = $nc; INSERT INTO customers SELECT id + $k * $nc, name, email, created_at, note FROM bench_src.customers $keep;
                  SET @n = $no; INSERT INTO orders SELECT id + $k * $no, customer_id + $k * $nc, amount, status, created_at, payload FROM bench_src.orders $keep;
                  SET @n = $ni; INSERT INTO order_items SELECT id + $k * $ni, order_id + $k * $no, sku, qty, price, descr FROM bench_src.order_items $keep;"
          done
          # The halves keep every parent a kept child points at only where ids line up, so
          # the 1M copy leaves its foreign keys out (they matter to time, not to memory).
          [[ $2 == half ]] || sql+="ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
                  ALTER TABLE order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);"
          my_c -e "$sql"
        fi
        rows=$(my_c -N -D "$db" -e "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)")
        bash "$L/reset-db.sh" pg bench_xfer >/dev/null
        /usr/bin/time -v bash -c "$(xfer "$(url_for mariadb "$db" cutover)" "$(url_for pg bench_xfer cutover)")" \
          2>"$BENCH_WORK/memory-$1.txt" >/dev/null
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_WORK/memory-$1.txt")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$BENCH_WORK/memory-$1.txt")
        echo "memory: $rows rows MariaDB $db -> PostgreSQL: peak RSS ${rss} kB, wall ${wall}"
      done
      ;;
    *) echo "bench/transfer.sh: unknown part $part" >&2; exit 2 ;;
  esac
done
