"""The floor of a SQLite fleet deploy: each tenant file takes the migrations the way the
least a migration tool can do it, in process, with no checks, journal or record: one
transaction per migration holding the script and a history row, TRUNCATE journal mode as
cutover uses, `CONCURRENCY` worker processes (Python's sqlite3 releases no GIL across a
whole script, so processes, not threads). What bench/fleet.sh times cutover's fleet beside.

Usage: python3 fleet_floor.py MIGRATIONS_DIR TENANTS_DIR N CONCURRENCY
"""
import glob
import os
import sqlite3
import sys
from multiprocessing import Pool

mig_dir, work, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
SCRIPTS = ["CREATE TABLE history(version TEXT PRIMARY KEY);"] + [
    "BEGIN;\n%s\n;INSERT INTO history VALUES ('%s');\nCOMMIT;"
    % (open(p).read(), os.path.basename(p))
    for p in sorted(glob.glob(os.path.join(mig_dir, "*.up.sql")))
]


def tenant(i):
    con = sqlite3.connect(os.path.join(work, "t%d.db" % i), isolation_level=None)
    con.execute("PRAGMA journal_mode=TRUNCATE")
    for script in SCRIPTS:
        con.executescript(script)
    con.close()


if __name__ == "__main__":
    with Pool(concurrency) as pool:
        pool.map(tenant, range(1, n + 1), chunksize=4)
