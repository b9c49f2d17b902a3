#!/usr/bin/env python3
"""The planner's choice and the time of each List ordering and filter of persons.

Runs, on a dataset the benchmark kept (`homecoming-bench all --keep-database`), the shapes of
query `store/paging.rs` builds for ListPersons:

- per sortable field, the walk of a page under S4's filter: the next 5,000 rows in the
  ordering's index order, filtered (`SELECT * FROM (SELECT * FROM persons WHERE NOT restricted
  ORDER BY key, id LIMIT 5000) WHERE filter ORDER BY key, id LIMIT 11`), and the query as
  planned, which the server runs when the walk finds fewer rows than the page;
- per filter-only field (and `status`), its rarest and its most common value: the page in the
  default order (`id`), as planned, and the walk of the S4 ordering (`family_name`);

and prints, per query, the plan's access path and the time of one execution (the second of
two: the first warms the cache). Usage:

  bench/tools/explain.py --sqlite DIR/bench.db
  bench/tools/explain.py --postgres postgres://postgres@127.0.0.1:5432/homecoming_bench_...
"""

import argparse
import re
import sqlite3
import subprocess
import time

ORDERINGS = [
    "id", "family_name", "given_name", "patronymic", "date_of_birth", "place_of_birth",
    "citizenship", "rank", "unit", "capture_date", "capture_region", "status", "exchange_id",
    "service_number", "create_time", "update_time",
]
FILTER_ONLY = [
    "kind", "sex", "service", "rank_group", "convicted_in_captivity",
    "aftercare_medical_examination", "aftercare_rehabilitation", "aftercare_payments",
]
S4_FILTER = (
    "EXISTS (SELECT 1 FROM person_categories c WHERE c.person_id = p.id "
    "AND c.category_code = 'held-since-2022') AND p.status = {returned}"
)


class Sqlite:
    name = "SQLite"

    def __init__(self, path):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def false(self):
        return "0"

    def plan(self, sql):
        rows = self.db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        return "; ".join(r[3] for r in rows)

    def run(self, sql):
        self.db.execute(sql).fetchall()
        start = time.perf_counter()
        self.db.execute(sql).fetchall()
        return (time.perf_counter() - start) * 1000

    def rows(self, sql):
        return self.db.execute(sql).fetchall()


class Postgres:
    name = "PostgreSQL"

    def __init__(self, url):
        self.url = url

    def psql(self, sql):
        out = subprocess.run(
            ["psql", self.url, "-AtX", "-c", sql], check=True, capture_output=True, text=True
        )
        return out.stdout

    def false(self):
        return "false"

    def plan(self, sql):
        text = self.psql("EXPLAIN (COSTS off) " + sql)
        steps = []
        for line in text.splitlines():
            m = re.search(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Sort|Incremental Sort|Limit|Nested Loop|Hash Join|Subquery Scan)(?: Backward)?(?: using (\S+))?", line)
            if m and m.group(1) not in ("Limit", "Subquery Scan"):
                steps.append(m.group(0))
        return "; ".join(steps)

    def run(self, sql):
        self.psql(sql)
        text = self.psql("EXPLAIN (ANALYZE, TIMING off) " + sql)
        m = re.search(r"Execution Time: ([0-9.]+) ms", text)
        return float(m.group(1)) if m else float("nan")

    def rows(self, sql):
        return [tuple(line.split("|")) for line in self.psql(sql).splitlines() if line]


def walk(db, key, desc, where):
    d = " DESC" if desc else ""
    return (
        f"SELECT * FROM (SELECT * FROM persons WHERE restricted = {db.false()} "
        f"AND {key} IS NOT NULL ORDER BY {key}{d}, id{d} LIMIT 5000) AS p "
        f"WHERE {where} ORDER BY {key}{d}, id{d} LIMIT 11"
    )


def report(db):
    returned = 3  # PERSON_STATUS_RETURNED
    s4 = S4_FILTER.format(returned=returned)
    print(f"\n### {db.name}: orderings under S4's filter\n")
    print("| order_by | the walk: plan | rows it found (11 fill the page) | ms | the planned query (when the walk falls short): plan | ms |")
    print("|---|---|---|---|---|---|")
    for key in ORDERINGS:
        q = walk(db, key, False, s4)
        found = len(db.rows(q))
        planned = (
            f"SELECT * FROM persons p WHERE restricted = {db.false()} AND {s4} "
            f"ORDER BY {key} IS NULL, {key}, id LIMIT 11"
        )
        print(
            f"| `{key}` | {db.plan(q)} | {found} | {db.run(q):.2f} | {db.plan(planned)} | {db.run(planned):.2f} |"
        )
    print(f"\n### {db.name}: filters on few-valued fields (rarest and commonest value)\n")
    print("| filter | persons | plan, order by id | ms | walk by family_name: ms |")
    print("|---|---|---|---|---|")
    for col in FILTER_ONLY + ["status"]:
        counts = db.rows(
            f"SELECT {col}, count(*) FROM persons GROUP BY {col} ORDER BY count(*)"
        )
        counts = [c for c in counts if c[0] not in (None, "", "0", 0)]
        if not counts:
            continue
        picks = [counts[0], counts[-1]] if len(counts) > 1 else [counts[0]]
        for value, n in picks:
            v = value if not isinstance(value, str) or value.isdigit() or value in ("t", "f") else f"'{value}'"
            if v == "t":
                v = "true"
            if v == "f":
                v = "false"
            where = f"{col} = {v}"
            planned = (
                f"SELECT * FROM persons WHERE restricted = {db.false()} AND {where} "
                f"ORDER BY id LIMIT 11"
            )
            w = walk(db, "family_name", False, where)
            print(
                f"| `{where}` | {n} | {db.plan(planned)} | {db.run(planned):.2f} | {db.run(w):.2f} |"
            )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite")
    ap.add_argument("--postgres")
    a = ap.parse_args()
    if a.sqlite:
        report(Sqlite(a.sqlite))
    if a.postgres:
        report(Postgres(a.postgres))


if __name__ == "__main__":
    main()
