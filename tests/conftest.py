"""Shared test settings, and the one complete tiny run the end-to-end modules share."""

from pathlib import Path

import pytest
import torch
from workflow_runs import copy_workflow, snakemake

# Tests run tiny networks: one thread avoids threads fighting over the cores (2 in CI), which
# makes small convolutions many times slower. End-to-end runs use Snakemake's own threads.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[Path, Path]:
    """(Snakefile of a copy of the workflow, working directory of its complete run of the tiny
    preset, presets/ci.yaml). Built once per session: it takes minutes."""
    top = tmp_path_factory.mktemp("tiny-run")
    snakefile = copy_workflow(top / "workflow")
    workdir = top / "run"
    workdir.mkdir()
    snakemake(workdir, snakefile=snakefile)
    return snakefile, workdir
