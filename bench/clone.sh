#!/usr/bin/env bash
# bench/clone.sh
# `cutover clone` of ../shared/bench's ~2M-row PostgreSQL database bench_src (customers,
# orders, order_items: keys, indexes, foreign keys; lib/prepare-data.sh builds it when
# missing), masking two columns (customers.email as fake e-mails, customers.name as fake
# names), beside `pg_dump bench_src | psql` of the same data into a fresh database. Runs are
# interleaved (cutover, native, cutover, …) so that the machine's drift hits both sides;
# each run starts from an empty target database (not timed). Prints each run, the medians
# and the ratio cutover / native. Env: RUNS (3), CUTOVER (target/release/cutover).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared="$here/../../shared/bench"
export CUTOVER=${CUTOVER:-$here/../target/release/cutover}
source "$shared/lib/common.sh"
need_services pg
L="$shared/lib"
bash "$L/prepare-data.sh" >/dev/null

work="$BENCH_WORK/clone"
rm -rf "$work"; mkdir -p "$work"
cat >"$work/cutover.toml" <<EOF
[environments.bench]
kind = "staging"
url = "$(url_for pg bench_src cutover)"

[environments.test]
url = "$(url_for pg bench_clone cutover)"
EOF
cat >"$work/mask.toml" <<'EOF'
[columns]
"customers.email" = "email"
"customers.name" = "name"
EOF

pg_url=$(url_for pg bench_src psql)
native_url=$(url_for pg bench_native psql)

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

: >"$work/cutover.times"; : >"$work/native.times"
for i in $(seq "$RUNS"); do
  bash "$L/reset-db.sh" pg bench_clone >/dev/null
  t0=$(now)
  (cd "$work" && "$CUTOVER_BIN" -q clone --from bench --to test --mask mask.toml --yes >/dev/null)
  t1=$(now)
  echo "$t1 - $t0" | bc >>"$work/cutover.times"

  bash "$L/reset-db.sh" pg bench_native >/dev/null
  t0=$(now)
  pg_dump --no-owner "$pg_url" | psql -X -q -v ON_ERROR_STOP=1 -o /dev/null "$native_url"
  t1=$(now)
  echo "$t1 - $t0" | bc >>"$work/native.times"
  printf 'run %d: cutover clone --mask %6.2f s   pg_dump | psql %6.2f s\n' "$i" \
    "$(tail -1 "$work/cutover.times")" "$(tail -1 "$work/native.times")"
done

# The clone is whole and masked: same counts, no original e-mail left.
rows() { psql_c -d "$1" -Atc "select (select count(*) from customers)+(select count(*) from orders)+(select count(*) from order_items)"; }
[[ $(rows bench_clone) == "$(rows bench_src)" ]] || { echo "clone.sh: row counts differ" >&2; exit 1; }
left=$(psql_c -d bench_clone -Atc "select count(*) from customers where email like '%@example.com'")
[[ $left == 0 ]] || { echo "clone.sh: $left e-mails were not masked" >&2; exit 1; }

c=$(median <"$work/cutover.times"); n=$(median <"$work/native.times")
printf '\nmedians over %d interleaved runs (%s rows):\n' "$RUNS" "$(rows bench_src)"
printf '  cutover clone --mask (2 columns)  %6.2f s\n' "$c"
printf '  pg_dump | psql                    %6.2f s\n' "$n"
printf '  ratio cutover / native            %6.2fx\n' "$(echo "$c / $n" | bc -l)"
psql_c -d postgres -c "DROP DATABASE IF EXISTS bench_clone WITH (FORCE)" -c "DROP DATABASE IF EXISTS bench_native WITH (FORCE)" >/dev/null
