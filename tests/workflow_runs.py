"""Running the workflow from the tests: Snakemake's command line on the tiny preset, and a copy
of the workflow that a test may edit (a template, say) without touching the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CI_PRESET = ROOT / "presets" / "ci.yaml"
# What the workflow reads from its own folder.
SOURCES = ("Snakefile", "config.yaml", "rules", "scripts", "schemas", "templates", "src", "envs",
           "workflow-report", "profiles")


def snakemake(workdir: Path, *args, snakefile: Path = ROOT / "Snakefile", configfiles=(),
              check: bool = True, background: bool = False, **popen):
    """Run Snakemake on the tiny preset in workdir; background=True returns the Popen."""
    # Targets go before --configfile, which takes every following word as a file.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--cores", "2",
           "--directory", str(workdir), *map(str, args), "--configfile", str(CI_PRESET),
           *map(str, configfiles)]
    if background:
        return subprocess.Popen(cmd, cwd=workdir, **popen)
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-6000:]}")
    return result


def copy_workflow(folder: Path) -> Path:
    """The workflow's sources copied into folder; returns the copy's Snakefile."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        source, target = ROOT / name, folder / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return folder / "Snakefile"
