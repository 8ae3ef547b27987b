#!/usr/bin/env bash
# bench/lint_rates.sh [ROWS]
# The rates `cutover lint` turns table sizes into times with ([lint] rewrite_rate and
# scan_rate): on a ROWS-row table (default 2,000,000, the size of issue 12's traffic table)
# with a primary key and one secondary index, on the local PostgreSQL and MariaDB:
#   rewrite: PostgreSQL ALTER COLUMN TYPE (a full rewrite with its indexes), MariaDB
#            ALTER TABLE … MODIFY, ALGORITHM=COPY; bytes are the table and its indexes
#            before the change;
#   scan:    PostgreSQL CREATE INDEX and ADD CONSTRAINT … CHECK (a full read), MariaDB
#            ALTER TABLE … ADD INDEX (INPLACE).
# Prints MB/s for each. Uses psql and mariadb as the test suite's admin users; makes and
# drops the database `cutover_lint_rates`.
set -euo pipefail
ROWS=${1:-2000000}
DB=cutover_lint_rates
export PGSSLMODE=disable
pg() { psql -h 127.0.0.1 -U postgres -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }
my() { mariadb -h 127.0.0.1 -u root -N -B "$@"; }
now() { date +%s.%N; }
rate() { python3 -c "import sys; b,s=float(sys.argv[1]),float(sys.argv[2]); print(f'{b/1e6:.0f} MB in {s:.1f} s = {b/1e6/s:.1f} MB/s')" "$1" "$2"; }

pg -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'pg -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; my -e "DROP DATABASE IF EXISTS $DB"' EXIT
pg -d $DB -c "CREATE TABLE t (id bigint PRIMARY KEY, account int NOT NULL, amount int NOT NULL, note text NOT NULL)" \
  -c "INSERT INTO t SELECT g, g % 50000, g % 997, md5(g::text) FROM generate_series(1, $ROWS) g" \
  -c "CREATE INDEX t_account ON t (account)" -c "VACUUM ANALYZE t"
bytes=$(pg -d $DB -c "SELECT pg_total_relation_size('t')")
heap=$(pg -d $DB -c "SELECT pg_relation_size('t')")
s=$(now); pg -d $DB -c "ALTER TABLE t ALTER COLUMN amount TYPE bigint"; e=$(now)
echo "postgres rewrite (ALTER COLUMN TYPE): $(rate "$bytes" "$(echo "$e - $s" | bc)")"
s=$(now); pg -d $DB -c "CREATE INDEX t_amount ON t (amount)"; e=$(now)
echo "postgres scan (CREATE INDEX): $(rate "$heap" "$(echo "$e - $s" | bc)")"
s=$(now); pg -d $DB -c "ALTER TABLE t ADD CONSTRAINT t_amount_positive CHECK (amount >= 0)"; e=$(now)
echo "postgres scan (ADD CHECK): $(rate "$heap" "$(echo "$e - $s" | bc)")"

my -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
my $DB -e "SET SESSION max_recursive_iterations = $ROWS; CREATE TABLE t (id bigint PRIMARY KEY, account int NOT NULL, amount int NOT NULL, note varchar(64) NOT NULL, KEY t_account (account)) ENGINE=InnoDB;
  INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS) SELECT i, i % 50000, i % 997, md5(i) FROM n; ANALYZE TABLE t"
bytes=$(my $DB -e "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'")
data=$(my $DB -e "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'")
s=$(now); my $DB -e "ALTER TABLE t MODIFY amount bigint NOT NULL, ALGORITHM=COPY"; e=$(now)
echo "mariadb rewrite (MODIFY, ALGORITHM=COPY): $(rate "$bytes" "$(echo "$e - $s" | bc)")"
s=$(now); my $DB -e "ALTER TABLE t ADD INDEX t_amount (amount), ALGORITHM=INPLACE, LOCK=NONE"; e=$(now)
echo "mariadb scan (ADD INDEX, INPLACE): $(rate "$data" "$(echo "$e - $s" | bc)")"
