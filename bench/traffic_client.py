#!/usr/bin/python3
"""bench/traffic_client.py — steady read/write traffic on MariaDB for bench/traffic-mariadb.sh.

pgbench's part in bench/traffic.sh, for MariaDB (mysqlslap runs queries as fast as it can
and reports only totals: it has no fixed rate and no per-transaction latencies). CLIENTS
connections each run transactions (read one random order, update it, commit) at
RATE/CLIENTS per second, Poisson-spaced as pgbench --rate does. A transaction's latency is
counted from the time it was scheduled, so time spent queued behind a lock or a stalled
one before it counts, as in pgbench --rate. Each client writes pgbench's log format, one
line per transaction (client, number, latency µs, 0, epoch s, µs), to PREFIX.CLIENT; a
transaction that failed (a deadlock, a timeout, a column that was swapped under it) is
logged with script number 1 and counted, by error code, on stderr at the end. Runs until SIGTERM or
SECONDS. Needs PyMySQL (Debian: python3-pymysql).

usage: traffic_client.py HOST PORT DATABASE ROWS RATE CLIENTS SECONDS PREFIX
"""

import collections
import random
import signal
import sys
import threading
import time

import pymysql

host, port, database, rows, rate, clients, seconds, prefix = sys.argv[1:9]
rows, rate, clients, seconds = int(rows), float(rate), int(clients), float(seconds)
stopping = threading.Event()
failures = [0] * clients
reasons = collections.Counter()


def client(n: int) -> None:
    conn = pymysql.connect(host=host, port=int(port), user="root", password="",
                           database=database, autocommit=False)
    cur = conn.cursor()
    rng = random.Random(n)
    log = open(f"{prefix}.{n}", "w", buffering=1)
    due = time.time()
    number = 0
    while not stopping.is_set():
        due += rng.expovariate(rate / clients)
        wait = due - time.time()
        if wait > 0 and stopping.wait(wait):
            break
        number += 1
        key = rng.randint(1, rows)
        script = 0
        try:
            cur.execute("SELECT amount, customer_id FROM orders WHERE id = %s", (key,))
            cur.fetchall()
            cur.execute("UPDATE orders SET amount = amount + 1 WHERE id = %s", (key,))
            conn.commit()
        except pymysql.MySQLError as e:
            script = 1
            failures[n] += 1
            reasons[str(e.args[0]) if e.args else type(e).__name__] += 1
            try:
                conn.rollback()
            except pymysql.MySQLError:
                conn = pymysql.connect(host=host, port=int(port), user="root", password="",
                                       database=database, autocommit=False)
                cur = conn.cursor()
        end = time.time()
        latency = int((end - due) * 1e6)
        log.write(f"{n} {number} {latency} {script} {int(end)} {int((end % 1) * 1e6)}\n")
    log.close()
    conn.close()


signal.signal(signal.SIGTERM, lambda *_: stopping.set())
threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
for t in threads:
    t.start()
deadline = time.time() + seconds
while not stopping.is_set() and time.time() < deadline:
    time.sleep(0.1)
stopping.set()
for t in threads:
    t.join(timeout=120)
if sum(failures):
    why = ", ".join(f"error {code}: {count}" for code, count in reasons.most_common())
    print(f"traffic_client: {sum(failures)} transactions failed ({why})", file=sys.stderr)
