"""The SLURM profile: a dry run plans every job, and the executor plugin would submit each one
with the resources its rule declares (GPU jobs with a GPU, to a GPU partition).

The dry run gives each job's threads and resources; the plugin's own functions then build the
partition choice, the GPU request and the sbatch command line from them, as a real run would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

plugin = pytest.importorskip(
    "snakemake_executor_plugin_slurm",
    reason="snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')",
)
from snakemake_executor_plugin_slurm.partitions import (  # noqa: E402
    get_best_partition,
    read_partition_file,
)
from snakemake_executor_plugin_slurm.submit_string import get_submit_command  # noqa: E402
from snakemake_executor_plugin_slurm.utils import set_gres_string  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "slurm"


class Resources(dict):
    """Job resources as the plugin reads them: .get(name) and attribute access."""

    __getattr__ = dict.__getitem__


def parse_dry_run(text: str) -> list[SimpleNamespace]:
    """The jobs of `snakemake -n` output: rule name, threads and resources."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if not head:
            continue
        threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        found = re.search(r"^\s+resources: (.*)$", block, re.M)
        resources = Resources()
        for item in (found.group(1).split(", ") if found else []):
            key, value = item.split("=", 1)
            resources[key] = int(value) if value.isdigit() else value
        jobs.append(SimpleNamespace(name=head.group(1), rule=head.group(1),
                                    threads=int(threads.group(1)) if threads else 1,
                                    resources=resources,
                                    wildcards=wildcards.group(1) if wildcards else ""))
    return jobs


@pytest.fixture(scope="module")
def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


@pytest.fixture(scope="module")
def jobs() -> list[SimpleNamespace]:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--profile", "profiles/slurm",
           "--configfile", "presets/ci.yaml"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return parse_dry_run(proc.stdout + "\n" + proc.stderr)


@pytest.fixture(scope="module")
def partitions(profile):
    return read_partition_file(ROOT / profile["slurm-partition-config"])


def sbatch(job, partition: str) -> str:
    """The sbatch command line the plugin builds for a job (no account: --slurm-no-account)."""
    params = {"run_uuid": "uuid", "slurm_logfile": "log", "comment_str": job.name,
              "account": "", "partition": f"-p {partition}", "workdir": str(ROOT)}
    return get_submit_command(job, params) + set_gres_string(job)


def test_profile_selects_the_slurm_executor(profile):
    assert profile["executor"] == "slurm"
    assert (ROOT / profile["slurm-partition-config"]).is_file()


def test_dry_run_plans_the_part_b_jobs(jobs):
    rules = {j.rule for j in jobs}
    assert {"data", "train_denoiser", "train_time", "train_class", "sample"} <= rules


def test_gpu_jobs_go_to_a_gpu_partition_with_one_gpu(jobs, partitions, profile):
    gpu_partitions = {p.name for p in partitions if p.limits.max_gpu > 0}
    quiet = lambda *args, **kwargs: None  # noqa: E731
    logger = SimpleNamespace(debug=quiet, info=quiet, warning=quiet)
    gpu_jobs = [j for j in jobs if j.resources.get("gpu")]
    cpu_jobs = [j for j in jobs if not j.resources.get("gpu")]
    assert {j.rule for j in gpu_jobs} >= {"train_denoiser", "train_time", "train_class", "sample"}
    assert "data" in {j.rule for j in cpu_jobs}
    for job in gpu_jobs:
        partition = get_best_partition(partitions, job, logger)
        assert partition in gpu_partitions, job.rule
        # part A's small jobs on the MNIST model take one core each, the others every core
        cores = 1 if "backend=mnist" in job.wildcards else profile["cores"]
        assert job.threads == cores, job.rule
        command = sbatch(job, partition)
        assert "--gpus=1" in command and f"--cpus-per-task={cores}" in command
    for job in cpu_jobs:
        partition = get_best_partition(partitions, job, logger)
        assert partition is not None and partition not in gpu_partitions, job.rule
        assert "--gpus" not in sbatch(job, partition) and "--gres" not in sbatch(job, partition)


def test_rules_resources_reach_sbatch(jobs, profile):
    """Rules' own mem_mb and runtime (minutes) win over the profile's defaults."""
    defaults = profile["default-resources"]
    for job in jobs:
        command = sbatch(job, "any")
        assert f"-t {job.resources['runtime']}" in command, job.rule
        assert f"--mem {job.resources['mem_mb']}" in command, job.rule
    train = next(j for j in jobs if j.rule == "train_time")  # declares mem_mb and runtime
    data = next(j for j in jobs if j.rule == "data")  # declares neither
    assert (train.resources["mem_mb"], train.resources["runtime"]) != (
        defaults["mem_mb"], defaults["runtime"])
    assert (data.resources["mem_mb"], data.resources["runtime"]) == (
        defaults["mem_mb"], defaults["runtime"])
