"""Projected time of the full reference training run from measured training throughput.

Each model trains `part_b.<model>.epochs` epochs over the 60,000 training digits in batches of
`part_b.<model>.batch_size` (config.yaml); an epoch's last, partial batch is counted as a full
one. Checkpoint writes and start-up are not included. Reads the rows of `train_throughput`
(its --csv file, or directly with `train_throughput --project`).

    python -m benchmarks.projection --csv benchmarks/out/train.csv
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Sequence

from . import common

REFERENCE_DIGITS = 60_000
COLUMNS = ["model", "path", "device", "images_per_s", "epochs", "steps", "minutes"]


def run_seconds(images_per_s: float, batch: int, epochs: int,
                digits: int = REFERENCE_DIGITS) -> tuple[int, float]:
    """Steps and seconds of `epochs` epochs over `digits` images in batches of `batch` at the
    measured images/s (an epoch's last, partial batch counted as a full one)."""
    steps = epochs * math.ceil(digits / batch)
    return steps, steps * batch / float(images_per_s)


def project(rows: Sequence[dict], config: dict, digits: int = REFERENCE_DIGITS) -> list[dict]:
    """Per measured row the projected minutes; then, per (device, path), the sum over models.

    The measured rate (images/s) is taken at the config's batch size; a row measured at another
    batch size is projected all the same and its `note` says so.
    """
    out = []
    totals: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        section = config["part_b"][row["model"]]
        batch, epochs = section["batch_size"], section["epochs"]
        steps, seconds = run_seconds(row["images_per_s"], batch, epochs, digits)
        note = "" if int(row["batch"]) == batch else f"measured at batch {row['batch']}"
        item = {"model": row["model"], "path": row["path"], "device": row["device"],
                "images_per_s": row["images_per_s"], "epochs": epochs, "steps": steps,
                "seconds": seconds, "minutes": round(seconds / 60, 2), "note": note}
        out.append(item)
        totals.setdefault((row["device"], row["path"]), []).append(item)
    for (device, path), items in totals.items():
        if len(items) > 1:
            seconds = sum(i["seconds"] for i in items)
            out.append({"model": "all: " + " + ".join(i["model"] for i in items), "path": path,
                        "device": device, "images_per_s": "", "epochs": "",
                        "steps": sum(i["steps"] for i in items), "seconds": seconds,
                        "minutes": round(seconds / 60, 2), "note": ""})
    return out


def report_projection(rows: Sequence[dict], config: dict, digits: int, subtitle: str,
                      csv_path: str | None = None, md_path: str | None = None) -> list[dict]:
    projected = project(rows, config, digits)
    columns = COLUMNS + (["note"] if any(p["note"] for p in projected) else [])
    common.report(projected, columns, f"Projected reference training on {digits:,} digits",
                  subtitle, csv_path, md_path)
    return projected


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", required=True, dest="rows",
                        help="the CSV written by train_throughput --csv")
    parser.add_argument("--config", default=str(common.ROOT / "config.yaml"))
    parser.add_argument("--preset", action="append", default=[], metavar="YAML")
    parser.add_argument("--digits", type=int, default=REFERENCE_DIGITS)
    parser.add_argument("--out-csv", help="write the projection to this CSV file")
    parser.add_argument("--markdown", help="write the projection to this markdown file")
    args = parser.parse_args(argv)
    with open(args.rows, newline="") as f:
        rows = list(csv.DictReader(f))
    config = common.load_config(args.config, args.preset)
    return report_projection(rows, config, args.digits, f"From the throughput in {args.rows}.",
                             args.out_csv, args.markdown)


if __name__ == "__main__":
    main()
