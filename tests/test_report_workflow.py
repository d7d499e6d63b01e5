"""The write-up as a workflow: the site and Snakemake's own report after a tiny run, and reruns.

The tiny preset's run (presets/ci.yaml) from a copy of the workflow (conftest's `tiny_run`), so
a test may edit a template without touching the repository. Reruns are checked through
Snakemake's Python API: a dry run on the completed run lists the jobs that would run, and
changing one setting (or one template) must schedule exactly the jobs that use it, and the
report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from PIL import Image
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings,
    DAGSettings,
    OutputSettings,
    Quietness,
    ResourceSettings,
)
from snakemake.utils import update_config
from workflow_runs import CI_PRESET, ROOT, snakemake

from diffusionlab.part_a import item_params as part_a_params

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tiny_run) -> tuple[Path, Path]:
    """(Snakefile of the copied workflow, working directory of a completed tiny run)."""
    return tiny_run


def ci_config() -> dict:
    """The config of the tiny run: config.yaml overlaid with presets/ci.yaml."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(config, yaml.safe_load(CI_PRESET.read_text()))
    return config


def job_name(job) -> tuple:
    return (job.rule.name, *(f"{k}={v}" for k, v in sorted(job.wildcards_dict.items())))


def dry_run(snakefile: Path, workdir: Path, config: dict | None = None, view=job_name,
            forceall: bool = False, cores: int = 1) -> list:
    """`view` of each job a dry run of the default target schedules (every job of the DAG
    with forceall), seen from the working directory, given `cores`."""
    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow_api = api.workflow(
                resource_settings=ResourceSettings(cores=cores),
                config_settings=ConfigSettings(configfiles=[CI_PRESET], config=config or {}),
                snakefile=snakefile,
                workdir=workdir,
            )
            dag_api = workflow_api.dag(DAGSettings(forceall=forceall))
            dag_api.execute_workflow(executor="dryrun")
            dag = workflow_api._workflow.dag
            return [view(job) for job in dag.needrun_jobs(exclude_finished=False)]
    finally:
        os.chdir(cwd)


def scheduled(snakefile: Path, workdir: Path, config: dict | None = None) -> set[tuple]:
    """The jobs a dry run of the default target schedules: (rule, wildcard=value, ...)."""
    return set(dry_run(snakefile, workdir, config))


def jobs(rule: str, *wildcards: dict) -> set[tuple]:
    return {(rule, *(f"{k}={v}" for k, v in sorted(w.items()))) for w in wildcards or [{}]}


REPORT = jobs("report") | jobs("all")


def test_nothing_to_be_done_after_a_run(run):
    snakefile, workdir = run
    assert scheduled(snakefile, workdir) == set()
    result = snakemake(workdir, "-n", snakefile=snakefile)
    assert "Nothing to be done" in result.stdout + result.stderr


def part_a_jobs(config: dict, backend: str) -> set[tuple]:
    """The jobs behind part A's figures of a backend, by rule and wildcards (from the file
    names of part_a.item_params.figures, as the rules of rules/part_a.smk name their outputs)."""
    fixed = {"sampling": "part_a_sampling", "forward": "part_a_forward",
             "blur": "part_a_denoising", "iterative": "part_a_iterative"}
    out = set()
    for path in part_a_params.figures(config, backend):
        stem = Path(path).stem
        kind, _, k = stem.rpartition("_")
        if stem in fixed:
            rule, wildcards = fixed[stem], {}
        elif stem in ("samples", "cfg_samples"):
            rule, wildcards = "part_a_samples", {"kind": stem}
        elif stem in part_a_params.EDITS:
            rule, wildcards = "part_a_edits", {"edit": stem}
        elif kind == "inpainting":
            rule, wildcards = "part_a_inpainting", {"k": k}
        elif kind in part_a_params.ILLUSIONS:
            rule, wildcards = "part_a_illusion", {"illusion": kind, "k": k}
        else:
            continue  # one_step.png, iterative_compare.png: second outputs of a job above
        out |= jobs(rule, {"backend": backend, **wildcards})
    return out


def test_a_training_setting_reruns_its_model_and_what_depends_on_it(run):
    """part_b.class.lr: the class-conditioned UNet, its figures, every part A job on the MNIST
    backend (they read its last checkpoint, unlike the input images) and its evaluation."""
    snakefile, workdir = run
    config = ci_config()
    epochs = config["part_b"]["class"]["sample_epochs"]
    expected = (
        jobs("train_class")
        | jobs("loss_curve", {"model": "class"})
        | jobs("sample", *({"model": "class", "epoch": e} for e in epochs))
        | part_a_jobs(config, "mnist")
        | jobs("evaluate_checkpoints", {"model": "class"})
        | jobs("evaluate_sampler_steps", {"model": "class"})
        | jobs("evaluate_guidance")
        | jobs("evaluate_target_samples", {"model": "class"})
        | jobs("evaluation_targets")
        | jobs("evaluate_illusions")  # samples the illusions anew: more than the figures hold
        | jobs("evaluate_sdedit")
        | REPORT
    )
    assert config["evaluation"]["illusions"]["samples"] > config["part_a"]["mnist"][
        "illusion_samples"]
    assert len(part_a_jobs(config, "mnist")) > 15
    assert scheduled(snakefile, workdir, {"part_b": {"class": {"lr": 0.005}}}) == expected


@pytest.mark.parametrize(("device", "threads", "gpu"), [("cpu", 2, 0), ("cuda", 4, 1)])
def test_jobs_share_a_cpu_and_queue_for_a_gpu(run, device, threads, gpu):
    """On `device: cpu` the torch jobs take half the cores and no GPU slot, so two run side by
    side; where a GPU may run them they take every core and hold the one GPU slot."""
    snakefile, workdir = run
    config = {"device": device, "performance": {**ci_config()["performance"],
                                                "job_threads": "auto"}}
    resources = dry_run(snakefile, workdir, config, forceall=True, cores=4,
                        view=lambda job: (job.rule.name, job.threads, job.resources.get("gpu")))
    torch_jobs = {"train_time", "train_class", "train_classifier", "evaluate_target_samples",
                  "deep_dive_train", "latent_autoencoder"}
    seen = {name: (t, g) for name, t, g in resources if name in torch_jobs}
    assert seen.keys() == torch_jobs
    assert set(seen.values()) == {(threads, gpu)}
    # Small part A jobs on a class model take one thread anywhere, and the GPU slot where a GPU
    # may run them.
    assert {(t, g) for name, t, g in resources if name == "part_a_illusion"} == {(1, gpu)}


def test_an_sdedit_setting_reruns_the_sdedit_jobs(run):
    snakefile, workdir = run
    backends = ci_config()["part_a"]["backends"]  # i_starts is every backend's
    expected = (
        jobs("part_a_edits", *({"backend": b, "edit": e}
                               for b in backends for e in part_a_params.EDITS))
        | jobs("evaluate_sdedit")  # SDEdit's metrics (MNIST's), at every i_start
        | REPORT
    )
    assert scheduled(snakefile, workdir, {"part_a": {"i_starts": [2, 6]}}) == expected


def test_a_template_reruns_the_report_only(run):
    snakefile, workdir = run
    template = snakefile.parent / "templates" / "sections" / "part-b" / "1.2.html.j2"
    original = template.read_text()
    stat = template.stat()
    try:
        template.write_text(original.replace("</div>", "<p>One more sentence.</p>\n</div>"))
        assert scheduled(snakefile, workdir) == REPORT
    finally:
        template.write_text(original)
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert scheduled(snakefile, workdir) == set()


@contextlib.contextmanager
def edited(path: Path):
    """The file with a comment appended (newer than every output), then restored as it was,
    times included, so the finished run is current again."""
    original, stat = path.read_text(), path.stat()
    try:
        path.write_text(original + "\n# edited\n")
        yield
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_module_reruns_exactly_the_jobs_whose_script_can_import_it(run):
    """evaluation/frechet.py is reached by scripts/evaluation_metrics.py, through
    evaluation/sample_quality.py: its jobs (the denoiser's too: same script, and the graph
    counts every job of a script alike), what reads their tables, and the report; by
    scripts/latent_versus.py, through latent_versus.py: the pixel-versus-latent job; and by
    scripts/deep_dive_metrics.py, through deep_dive/metrics.py: the deep dive's metrics, pixel
    and latent (not its figures: the strips' table lives in deep_dive/settling.py)."""
    snakefile, workdir = run
    config = ci_config()
    models = config["evaluation"]["sampler_steps"]["models"]
    latent = [{"dataset": d} for d in config["latent"]["run"]]
    expected = (
        jobs("evaluate_denoiser")
        | jobs("evaluate_checkpoints", {"model": "time"}, {"model": "class"})
        | jobs("evaluate_sampler_steps", *({"model": m} for m in models))
        | jobs("evaluate_guidance")
        | jobs("evaluate_target_samples", {"model": "time"}, {"model": "class"})
        | jobs("evaluation_targets")
        | jobs("deep_dive_metrics", *({"dataset": d} for d in config["deep_dive"]["run"]))
        | jobs("latent_metrics", *latent)
        | jobs("latent_versus", *latent)
        | REPORT
    )
    with edited(snakefile.parent / "src" / "diffusionlab" / "evaluation" / "frechet.py"):
        assert scheduled(snakefile, workdir) == expected
    assert scheduled(snakefile, workdir) == set()


def test_settings_a_job_ignores_rerun_nothing_but_the_report(run):
    """data.root names the folder of the torchvision and folder sources, which the tiny
    preset's embedded sample never reads; sample_precision is for sampling, not training. Only
    the report, which prints the whole config, reruns."""
    snakefile, workdir = run
    assert ci_config()["data"]["source"] == "embedded"
    assert scheduled(snakefile, workdir, {"data": {"root": "/somewhere/else"}}) == REPORT
    assert jobs("data") <= scheduled(snakefile, workdir, {"data": {"embedded_test_size": 500}})
    changed = scheduled(snakefile, workdir, {"performance": {"sample_precision": "bf16"}})
    assert jobs("sample", {"model": "time", "epoch": 1}) <= changed
    assert not {job for job in changed if job[0].startswith("train_")}


def test_no_job_has_a_path_of_the_checkout_among_its_params(run):
    """Moving or copying a finished checkout must rerun nothing: no param of any job holds an
    absolute path of the workflow's folder or of the working directory."""
    snakefile, workdir = run
    params = dry_run(snakefile, workdir, view=lambda job: (job_name(job), repr(job.params)),
                     forceall=True)
    assert len(params) > 40
    top = os.path.commonpath([snakefile.parent, workdir])
    assert [name for name, text in params if top in text] == []


def test_cpu_offload_changes_no_jobs_params(tmp_path):
    """Where DeepFloyd's models wait between calls (part_a.deepfloyd.cpu_offload) does not
    change what they compute: turning it on to save GPU memory changes no job's params, which
    Snakemake would take for a reason to rerun the job and all of part A after it (the report,
    which prints the whole config, aside)."""

    def params(offload: bool) -> list:
        overlay = {"part_a": {"backends": ["deepfloyd", "mnist"],
                              "deepfloyd": {"cpu_offload": offload}}}
        jobs = dry_run(ROOT / "Snakefile", tmp_path, overlay, forceall=True,
                       view=lambda job: (job_name(job), repr(job.params)))
        return sorted(job for job in jobs if job[0] != ("report",))

    off = params(False)
    assert any(name[0] == "part_a_embeddings" for name, _ in off)
    assert params(True) == off


def test_the_exercise_only_overlay_leaves_out_the_deep_dive_and_its_latent_twin(tmp_path):
    """presets/exercise-only.yaml over a preset: part A, part B, the evaluation and the
    report, and no job of the deep dive or of latent diffusion."""
    overlay = yaml.safe_load((ROOT / "presets" / "exercise-only.yaml").read_text())
    every = {job[0] for job in dry_run(ROOT / "Snakefile", tmp_path, forceall=True)}
    names = {job[0] for job in dry_run(ROOT / "Snakefile", tmp_path, overlay, forceall=True)}
    assert any(n.startswith("deep_dive_") for n in every)
    assert any(n.startswith("latent_") for n in every)
    assert not any(n.startswith(("deep_dive_", "latent_")) for n in names)
    assert {"train_time", "train_class", "part_a_illusion", "evaluation_targets",
            "report"} <= names
    assert names == {n for n in every if not n.startswith(("deep_dive_", "latent_"))}


def test_image_files_and_downloads_are_inputs(run, tmp_path):
    """A local image is an input of the job that prepares it (editing it reruns that job and
    those that read the prepared image); a URL is fetched once by part_a_download, whose
    cached file the jobs of every backend read."""
    snakefile, workdir = run
    local = tmp_path / "five.png"
    url = "https://example.org/images/horse.jpg"
    config = {"part_a": {"mnist": {"images": {"drawn_5": str(local), "horse": url}}}}

    def inputs(job):
        return job_name(job), [str(f) for f in job.input], dict(job.params.items())

    Image.new("L", (40, 40), 255).save(local)
    found = {name: (files, params)
             for name, files, params in dry_run(snakefile, workdir, config, view=inputs)}
    download = part_a_params.download_path(url)
    assert found[("part_a_download", f"download={Path(download).name}")][1]["url"] == url
    files, params = found[("part_a_input", "backend=mnist", "name=drawn_5")]
    assert str(local) in files and params["source"] is None
    files, params = found[("part_a_input", "backend=mnist", "name=horse")]
    assert download in files and params["source"] is None

    _, workdir = run
    site = workdir / "report"
    index = (site / "index.html").read_text()
    assert "Not in part_a.backends — it needs a CUDA GPU and Hugging Face access" in index
    assert 'href="part-a-mnist.html"' in index
    page = (site / "part-a-mnist.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    figures = [f for f in part_a_params.figures(ci_config(), "mnist") if f.endswith(".png")]
    assert len(images) == len(figures) + 1  # and the evaluation's SDEdit figure, beside 1.7
    assert {Path(f).name for f in figures} <= {Path(src).name for src in images}
    assert all((site / src).is_file() for src in images)
    assert "part_a_mnist_anagram_0" in index  # its benchmark, in the provenance table


def test_snakemake_report_after_a_run(run, tmp_path):
    """snakemake --report: the final outputs under their part and section, and the site."""
    snakefile, workdir = run
    archive = tmp_path / "report.zip"
    snakemake(workdir, "--report", archive, snakefile=snakefile)
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        page = zf.read(next(n for n in names if n.endswith("/report.html"))).decode()
    for path in ("results/part_b/noising.png", "results/part_a/mnist/anagram_0.png",
                 "results/evaluation/part_a/sdedit.png", "results/evaluation/guidance.csv"):
        assert json.dumps(path) in page, path  # filed in a category
        assert any(n.endswith(f"/{Path(path).name}") for n in names), path  # and embedded
    assert any(n.endswith("/part-a-mnist.html") for n in names)  # the site, under "Write-up"
    categories = {  # category -> some of its subcategories (the sections of the write-up)
        "Part A · MNIST class-conditioned UNet": ["1.7 Image-to-image translation (SDEdit)",
                                                  "1.10 Beyond the course: more views"],
        "Part B": ["1.2 Noising digits", "2.1–2.3 A time-conditioned DDPM"],
        "Evaluation": ["E.6 Part A's illusions read by the classifier",
                       "E.7 Targets, and what this run reached"],
        "Write-up": [],
    }
    for category, sections in categories.items():
        # the report's data is JSON inside report.html: names as json.dumps writes them
        assert json.dumps(category) + ": {" in page, category
        for section in sections:
            assert json.dumps(section) + ": [" in page, section
    assert "Sdedit" not in page and "SDEdit: each input noised" in page


CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}  # PyPI -> conda-forge


def test_conda_environment_matches_the_package(tmp_path):
    """envs/pytorch.yaml: pyproject's dependencies with the same lower bounds, and this
    repository installed by pip from $DIFFUSIONLAB_ROOT, as conda runs it: the pip lines in a
    requirements file in the folder of the (copied) environment file, pip's cwd."""
    import tomllib

    env = yaml.safe_load((ROOT / "envs" / "pytorch.yaml").read_text())
    conda = dict(d.split(" ", 1) for d in env["dependencies"] if isinstance(d, str) and " " in d)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, bound = re.match(r"([A-Za-z0-9_.-]+)(.*)", requirement).groups()
        if name == "snakemake":  # comes with the package through pip: it runs the workflow
            continue
        assert conda.get(CONDA_NAMES.get(name, name)) == bound, requirement
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip == ["-e ${DIFFUSIONLAB_ROOT}"]
    requirements = tmp_path / "condaenv.requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-build-isolation",
         "--no-index", "-r", requirements.name],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "DIFFUSIONLAB_ROOT": str(ROOT)},
    )
    assert "Would install diffusionlab" in result.stdout, result.stdout + result.stderr
