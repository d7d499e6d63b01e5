"""End-to-end wall time of the workflow under a preset, from an empty results folder.

The workflow reads and writes paths relative to its working directory (config.yaml, src/, the
results), so the working tree (tracked files plus untracked ones git does not ignore: no
results/, logs/ or .snakemake/) is copied to a scratch folder and Snakemake runs there:

    python -m benchmarks.end_to_end --preset ci    # runs: snakemake --cores all \
                                                   #   --configfile presets/ci.yaml
    python -m benchmarks.end_to_end --preset laptop,exercise-only   # the exercise alone

Prints the wall time and a markdown row ready to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common

COLUMNS = ["preset", "targets", "cores", "jobs", "wall_s", "wall_min"]


def working_tree_files(root: Path) -> list[Path]:
    """Tracked and untracked files of the working tree that git does not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    return sorted({Path(p) for p in out.split("\0") if p and (root / p).is_file()})


def copy_workflow(root: Path, dest: Path) -> Path:
    """A copy of the working tree at `dest`, ready for a Snakemake run from scratch."""
    for rel in working_tree_files(root):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, dest / rel)
    return dest


def snakemake_command(preset: str, cores: str, targets: list[str], extra: list[str]) -> list:
    """The Snakemake command line; `preset` names one preset or several, comma-separated
    ("laptop,exercise-only"), each a name in presets/ or a YAML path, laid over in order."""
    configfiles = [p if p.endswith((".yaml", ".yml")) else f"presets/{p}.yaml"
                   for p in preset.split(",")]
    # targets first: --configfile takes every value that follows it
    return [sys.executable, "-m", "snakemake", *targets, "--cores", cores,
            *extra, "--configfile", *configfiles]


def run(preset: str, cores: str = "all", targets: list[str] | None = None,
        extra: list[str] | None = None, keep: str | None = None, root: Path = common.ROOT,
        echo: bool = True) -> dict:
    """Copy the workflow, run it, and return the wall time (the copy is not timed).

    The scratch folder is removed afterwards unless `keep` names it or the run failed.
    """
    targets, extra = targets or [], extra or []
    scratch = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="e2e-"))
    if keep and scratch.exists() and any(scratch.iterdir()):
        raise SystemExit(f"{scratch} is not empty: the run must start from scratch")
    try:
        copy_workflow(root, scratch)
        cmd = snakemake_command(preset, cores, targets, extra)
        lines = []
        start = time.perf_counter()
        # the jobs import the copy's package, not the (editable) install of the repository,
        # which may change while the run goes on
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(scratch / "src"), os.environ.get("PYTHONPATH")]))}
        with subprocess.Popen(cmd, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env) as proc:
            for line in proc.stdout:  # Snakemake's log, live
                lines.append(line)
                if echo:
                    sys.stderr.write(line)
        wall = time.perf_counter() - start
        if proc.returncode:
            if not echo:
                sys.stderr.write("".join(lines[-200:]))
            keep = str(scratch)  # left in place for a look at the logs
            raise SystemExit(f"snakemake failed (exit {proc.returncode}); see {scratch}")
        done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", "".join(lines))
        return {"preset": preset, "targets": " ".join(targets) or "(default)", "cores": cores,
                "jobs": done[-1][1] if done else 0, "wall_s": round(wall, 1),
                "wall_min": round(wall / 60, 2), "scratch": str(scratch)}
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="ci",
                        help="a preset name (presets/NAME.yaml) or a YAML path, or several "
                             "comma-separated, laid over in order (default: ci)")
    parser.add_argument("--cores", default="all", help="snakemake --cores (default: all)")
    parser.add_argument("--keep", metavar="DIR",
                        help="run in DIR (must be empty or new) and keep it afterwards")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    parser.add_argument("--quiet", action="store_true", help="do not echo Snakemake's log")
    parser.add_argument("targets", nargs="*", help="snakemake targets (default: its default)")
    args, extra = parser.parse_known_args(argv)
    row = run(args.preset, args.cores, args.targets, extra, args.keep, echo=not args.quiet)
    print(f"end-to-end wall time: {row['wall_s']} s ({row['jobs']} jobs)")
    facts = common.facts_line(common.machine_facts(common.devices("auto")[-1]))
    common.report([row], COLUMNS, f"End-to-end run, preset {args.preset}", facts,
                  md_path=args.markdown)
    return row


if __name__ == "__main__":
    main()
