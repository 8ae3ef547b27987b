#!/usr/bin/env bash
# bench/backup.sh [pg] [mariadb]
# cutover's backup beside the native tools on ../shared/bench's ~2M-row data set
# (lib/prepare-data.sh, database bench_src), runs interleaved so the disk's drift does not
# become a ratio:
#   PostgreSQL: `backup create` vs `pg_dump -Fc` to a file (and `pg_dump -Fd -j2`);
#               `backup verify --level restore` vs `pg_restore` of the -Fc file into a
#               fresh database.
#   MariaDB:    `backup create` vs `mariadb-dump --single-transaction --quick | zstd -3 -T2`;
#               `backup verify --level restore` vs `zstd -dc | mariadb` into a fresh database.
# Prints medians and cutover's ratio to each. Needs ../shared/bench/setup.sh (servers, bench
# user, zstd) and a release build. Env: RUNS (3), CUTOVER (target/release/cutover), WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} WORK=${WORK:-/tmp/cutover-backup-bench}
CUTOVER=${CUTOVER:-$here/../target/release/cutover}
engines=("$@"); [[ ${#engines[@]} -gt 0 ]] || engines=(pg mariadb)
bash "$here/../../shared/bench/lib/prepare-data.sh" >/dev/null
mkdir -p "$WORK"
export PGSSLMODE=disable
PG="-h 127.0.0.1 -U postgres"
MY="-h 127.0.0.1 -u bench -pbench"

# bench OUT "reset" NAME "cmd" …: run each (name, command) pair RUNS times, interleaved,
# with `reset` before each run.
bench() {
  local out=$1 reset=$2; shift 2
  : >"$out"
  for ((r = 1; r <= RUNS; r++)); do
    local args=("$@")
    for ((i = 0; i < ${#args[@]}; i += 2)); do
      bash -c "$reset" >/dev/null 2>&1 || true
      sync
      local t0 t1
      t0=$(date +%s%N); bash -c "${args[i + 1]}" >/dev/null; t1=$(date +%s%N)
      echo "${args[i]} $(( (t1 - t0) / 1000000 ))" >>"$out"
    done
  done
  python3 - "$out" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    which, ms = line.split()
    times.setdefault(which, []).append(int(ms) / 1000)
c = statistics.median(times["cutover"])
for which, runs in times.items():
    print(f"  {which:<22} median {statistics.median(runs):7.3f}s  runs {runs}")
for which, runs in times.items():
    if which != "cutover":
        print(f"  cutover / {which} = {c / statistics.median(runs):.2f}x")
PY
}

for engine in "${engines[@]}"; do
  case $engine in
    pg)
      url="postgres://postgres@127.0.0.1:5432/bench_src?sslmode=disable"
      echo "== PostgreSQL: backup create"
      # Each command removes only its own output, so the files stay for the restores.
      bench "$WORK/pg-create" "true" \
        "pg_dump-Fc" "rm -f $WORK/pg.dump; pg_dump $PG -Fc -f $WORK/pg.dump bench_src" \
        "cutover" "rm -f $WORK/c-pg.bak*; $CUTOVER --url '$url' backup create --out $WORK/c-pg.bak --verify checksum -q" \
        "pg_dump-Fd-j2" "rm -rf $WORK/pg.dir; pg_dump $PG -Fd -j2 -f $WORK/pg.dir bench_src"
      ls -la "$WORK/pg.dump" "$WORK/c-pg.bak" | awk '{print "  " $5 " bytes  " $9}'
      echo "== PostgreSQL: restore into a fresh database"
      bench "$WORK/pg-restore" "psql $PG -qc 'DROP DATABASE IF EXISTS bench_restore' -c 'CREATE DATABASE bench_restore'" \
        "pg_restore" "pg_restore $PG -d bench_restore --exit-on-error $WORK/pg.dump" \
        "cutover" "$CUTOVER --url '$url' backup verify $WORK/c-pg.bak --level restore -q"
      ;;
    mariadb)
      url="mysql://bench:bench@127.0.0.1:3306/bench_src"
      dump="mariadb-dump $MY --single-transaction --quick --routines --triggers bench_src"
      echo "== MariaDB: backup create"
      bench "$WORK/my-create" "true" \
        "mariadb-dump|zstd" "set -o pipefail; rm -f $WORK/my.sql.zst; $dump | zstd -q -3 -T2 > $WORK/my.sql.zst" \
        "cutover" "rm -f $WORK/c-my.bak*; $CUTOVER --url '$url' backup create --out $WORK/c-my.bak --verify checksum -q"
      ls -la "$WORK/my.sql.zst" "$WORK/c-my.bak" | awk '{print "  " $5 " bytes  " $9}'
      echo "== MariaDB: restore into a fresh database"
      bench "$WORK/my-restore" "mariadb $MY -e 'DROP DATABASE IF EXISTS bench_restore; CREATE DATABASE bench_restore'" \
        "zstd-dc|mariadb" "set -o pipefail; zstd -dc $WORK/my.sql.zst | mariadb $MY bench_restore" \
        "cutover" "$CUTOVER --url '$url' backup verify $WORK/c-my.bak --level restore -q"
      ;;
  esac
done
