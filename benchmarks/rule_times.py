"""Wall time, CPU time and peak memory of each job of a finished run, from its benchmark files.

Every rule writes Snakemake's benchmark file (results/benchmarks/NAME.tsv); this script
tabulates them, optionally only those whose name starts with a prefix, with a total:

    python -m benchmarks.rule_times --results results --prefix part_a_mnist
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from . import common

COLUMNS = ["job", "wall_s", "cpu_s", "max_rss_mb"]


def read_benchmarks(results: Path, prefix: str = "") -> list[dict]:
    """One row per benchmark file of `results`/benchmarks whose name starts with `prefix`."""
    folder = results / "benchmarks"
    files = sorted(folder.glob(f"{prefix}*.tsv"))
    if not files:
        raise SystemExit(f"no benchmark files {folder}/{prefix}*.tsv: is this a finished run?")
    rows = []
    for path in files:
        table = pd.read_csv(path, sep="\t")
        rows.append({
            "job": path.stem,
            "wall_s": round(float(table["s"].mean()), 1),
            "cpu_s": round(float(table["cpu_time"].mean()), 1),
            "max_rss_mb": round(float(table["max_rss"].max()), 0),
        })
    return rows


def with_total(rows: list[dict]) -> list[dict]:
    total = {"job": f"total ({len(rows)} jobs)",
             "wall_s": round(sum(r["wall_s"] for r in rows), 1),
             "cpu_s": round(sum(r["cpu_s"] for r in rows), 1),
             "max_rss_mb": max(r["max_rss_mb"] for r in rows)}
    return [*rows, total]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="the run's results folder")
    parser.add_argument("--prefix", default="", help="only benchmark files named PREFIX*")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    rows = with_total(read_benchmarks(Path(args.results), args.prefix))
    title = f"Jobs of {args.results}" + (f" named {args.prefix}*" if args.prefix else "")
    common.report(rows, COLUMNS, title, "wall and CPU seconds of each job; peak resident memory",
                  csv_path=args.csv, md_path=args.markdown)
    return rows


if __name__ == "__main__":
    main()
