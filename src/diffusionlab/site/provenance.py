"""Where the results came from: config, seed, data, device, versions, commit, date, costs."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .manifest import to_plain
from .tables import TableView, table_view

PACKAGES = (
    "torch",
    "torchvision",
    "diffusers",
    "transformers",
    "snakemake",
    "numpy",
    "pandas",
    "matplotlib",
    "jinja2",
    "latex2mathml",
)

BENCHMARK_COLUMNS = {  # Snakemake's benchmark TSV column -> shown column
    "s": "wall time (s)",
    "h:m:s": "wall time",
    "max_rss": "peak RSS (MB)",
    "cpu_time": "CPU time (s)",
}


@dataclass(frozen=True)
class Provenance:
    """What the report records about the run; unset fields are found at build time.

    `device` is a name or a mapping such as `diffusionlab.runtime.describe()` returns.
    `benchmarks` are Snakemake `benchmark:` TSV files, one per rule (the file stem names it).
    `date` defaults to SOURCE_DATE_EPOCH when set (reproducible builds), else the current time.
    """

    config: Mapping[str, Any]
    data_meta: Mapping[str, Any] = field(default_factory=dict)
    device: str | Mapping[str, Any] = "not recorded"
    benchmarks: Sequence[str | Path] = ()
    seed: int | None = None
    date: str | None = None
    git_commit: str | None = None
    packages: Mapping[str, str] | None = None
    repo: str | Path = "."


@dataclass(frozen=True)
class ProvenanceView:
    """Provenance with every field resolved to text, as the template shows it."""

    config_yaml: str
    seed: str
    data: list[tuple[str, str]]
    device: list[tuple[str, str]]
    packages: list[tuple[str, str]]
    git_commit: str
    date: str
    benchmarks: TableView | None


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions, without importing the packages; python's own version first."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: str | Path = ".") -> str:
    """HEAD of the checkout holding `repo`, marked when tracked files differ from it."""
    try:
        head = _git(repo, "rev-parse", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return head + (" (with uncommitted changes)" if dirty else "")


def _git(repo: str | Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20, check=True
    )
    return done.stdout.strip()


def build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def read_benchmarks(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per rule: mean wall and CPU time over the repeats, peak memory over them."""
    rows = []
    for path in paths:
        path = Path(path)
        frame = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        missing = {"s", "max_rss"} - set(frame.columns)
        if missing or frame.empty:
            raise ValueError(f"{path} is not a Snakemake benchmark file (no s / max_rss rows)")
        row: dict[str, Any] = {"rule": path.stem}
        for column, shown in BENCHMARK_COLUMNS.items():
            if column == "h:m:s" or column not in frame.columns:
                continue
            values = pd.to_numeric(frame[column], errors="coerce")
            row[shown] = values.max() if column.startswith("max_") else values.mean()
        row["wall time"] = _hms(row["wall time (s)"])
        if len(frame) > 1:
            row["repeats"] = len(frame)
        rows.append(row)
    columns = ["rule", "wall time", *(c for c in BENCHMARK_COLUMNS.values() if c != "wall time")]
    table = pd.DataFrame(rows)
    present = [c for c in columns if c in table.columns] + (
        ["repeats"] if "repeats" in table.columns else []
    )
    return table[present].sort_values("rule", kind="stable").reset_index(drop=True)


def _hms(seconds: float) -> str:
    if pd.isna(seconds):
        return "—"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def resolve(p: Provenance) -> ProvenanceView:
    seed = p.seed if p.seed is not None else p.config.get("seed")
    versions = dict(p.packages) if p.packages is not None else package_versions()
    return ProvenanceView(
        config_yaml=yaml.safe_dump(to_plain(p.config), sort_keys=False, allow_unicode=True),
        seed="not recorded" if seed is None else str(seed),
        data=_pairs(p.data_meta),
        device=_pairs(p.device) if isinstance(p.device, Mapping) else [("device", str(p.device))],
        packages=sorted(versions.items(), key=lambda kv: (kv[0] != "python", kv[0])),
        git_commit=p.git_commit if p.git_commit is not None else git_commit(p.repo),
        date=p.date if p.date is not None else build_date(),
        benchmarks=table_view(read_benchmarks(p.benchmarks), digits=4) if p.benchmarks else None,
    )


def _pairs(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), _text(v)) for k, v in mapping.items()]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value))
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)
