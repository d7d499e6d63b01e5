# Helpers for every module of rules/ (paths, input and params functions, report flags).

import os

from snakemake.exceptions import WorkflowError

from diffusionlab.codedeps import ImportGraph
from diffusionlab.data import layout as data_layout
from diffusionlab.deep_dive import runs as deep_dive_runs
from diffusionlab.part_a import item_params as part_a_params
from diffusionlab.site import placement
from diffusionlab.rule_params import (
    MODELS,
    checkpoint_epochs,
    gpu_slots,
    job_threads as threads_of_job,
    train_settings,
)

DATA = "results/data/mnist.pt"
DATA_META = "results/data/mnist.json"
# Paths in rule directives are relative to rules/, where every rule module lies.
# The environment installs this repository from $DIFFUSIONLAB_ROOT (see envs/pytorch.yaml).
CONDA_ENV = "../envs/pytorch.yaml"
os.environ.setdefault("DIFFUSIONLAB_ROOT", workflow.basedir)
REPORT_CAPTIONS = "../workflow-report/captions"


# The package's import graph, each module parsed once per workflow load.
IMPORTS = ImportGraph(os.path.join(workflow.basedir, "src"))


def code_inputs(script):
    """The package modules scripts/<script> can import, directly or not: a rule's `code`
    inputs. Snakemake does not track imports; the graph does (diffusionlab.codedeps)."""
    path = os.path.join(workflow.basedir, "scripts", script)
    # Relative to the working directory, so `--directory elsewhere` still finds them.
    return [os.path.relpath(p) for p in IMPORTS.script_modules(path)]


def data_settings(data):
    """The data section without the settings its source ignores: `root` is read by the
    torchvision and folder sources only, `embedded_test_size` by the embedded one."""
    ignored = "root" if data["source"] == "embedded" else "embedded_test_size"
    return {k: v for k, v in data.items() if k != ignored}


def mnist_files(data):
    """The local files of the `data:` section's MNIST (a folder copy's IDX files)."""
    return data_layout.input_files(
        {"source": "mnist", "origin": data["source"], "root": data["root"]}
    )


def all_cores(wildcards):
    """Threads of a job that takes every core it is given: --cores, or a cluster profile's
    cores. Commands that run no job may give none (snakemake --report): one thread then.
    """
    try:
        return workflow.cores
    except WorkflowError:
        return 1


def job_threads(wildcards):
    """Threads of a job that computes with torch (diffusionlab.rule_params.job_threads)."""
    return threads_of_job(config, all_cores(wildcards))


# The `gpu` resource of such a job: 0 on `device: cpu`, where jobs share the cores.
GPU = gpu_slots(config)


def checkpoint(model, epoch):
    return f"results/part_b/{model}/checkpoints/epoch{epoch}.pt"


def final_checkpoint(model):
    return checkpoint(model, config["part_b"][model]["epochs"])


def model_guidance(model):
    """The guidance a DDPM is sampled with: part B's for the class-conditioned model."""
    return config["part_b"]["class"]["guidance"] if model == "class" else 0.0


def training_performance():
    """The performance settings a training uses (sample_precision is for sampling only)."""
    return {k: v for k, v in config["performance"].items() if k != "sample_precision"}


# Snakemake's own report (snakemake --report): each final output under its part (category) and
# section (subcategory), with a caption of workflow-report/captions/ rendered from the job.


def for_report(path, caption, part, section, backend=None):
    """`path` flagged for the report. `section` is a section key of the part and `backend` part
    A's backend, or either is a function of the job's wildcards that returns it."""

    def resolved(value, wildcards):
        return value(wildcards) if callable(value) else value

    return report(
        path,
        caption=f"{REPORT_CAPTIONS}/{caption}.rst",
        category=lambda w: placement.category(part, resolved(backend, w)),
        subcategory=lambda w: placement.section_title(part, resolved(section, w)),
    )


def for_report_all(outputs, caption, part, section, backend=None):
    """Every output of a {name: path} mapping flagged for the report, as `for_report`."""
    return {
        name: for_report(path, caption, part, section, backend)
        for name, path in outputs.items()
    }


def part_a_report(path, caption):
    """A part A figure flagged for the report, under its backend and the section that its file
    stem (with the job's wildcards) belongs to."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return for_report(
        path,
        caption,
        "A",
        lambda w: placement.part_a_figure(stem.format(**dict(w.items()))).section,
        backend=lambda w: w.backend,
    )


# The provenance of the write-up


def paths_in(items):
    """Paths from a list of paths and lists of paths."""
    return [
        f
        for item in items
        for f in ([item] if isinstance(item, str) else paths_in(item))
    ]


def benchmarks_of(files):
    """The benchmark files of the jobs that make `files` (paths, or lists of them), each its
    rule's benchmark pattern with the file's wildcards, once each, in order."""
    benchmarks = {}
    for f in paths_in(files):
        producers = [r for r in workflow.rules if r.benchmark and r.is_producer(f)]
        if len(producers) != 1:
            raise WorkflowError(f"{f}: made by {len(producers)} rules with a benchmark")
        (producer,) = producers
        benchmarks[producer.benchmark.apply_wildcards(producer.get_wildcards(f))] = None
    return list(benchmarks)


# Part B


def part_b_section(wildcards):
    """The section of part B that shows a model's figures."""
    return placement.PART_B_SECTIONS[wildcards.model]


def sampling_args(wildcards):
    part_b = config["part_b"]
    section = part_b[wildcards.model]
    args = {
        "schedule": part_b["schedule"],
        "seed": config["seed"],
        "frame_every": part_b["animation"]["every"],
        "frame_ms": part_b["animation"]["frame_ms"],
        "device": config["device"],
        "precision": config["performance"]["sample_precision"],
    }
    if wildcards.model == "class":
        args.update(
            samples_per_class=section["samples_per_class"], guidance=section["guidance"]
        )
    else:
        args["num_samples"] = section["num_samples"]
    return args


def figure_sampling(wildcards):
    """The settings of a model's sample figures (rule sample), less their animation."""
    args = sampling_args(wildcards)
    del args["frame_every"], args["frame_ms"]
    return args


def part_b_figures():
    """Every part B artifact of the write-up, in the order of the exercise."""
    part_b = config["part_b"]
    files = ["results/part_b/noising.png"]
    files += [f"results/part_b/{m}/loss.png" for m in MODELS]
    files += [
        f"results/part_b/denoiser/results_epoch{e}.png"
        for e in part_b["denoiser"]["figure_epochs"]
    ]
    files += [
        "results/part_b/denoiser/ood.png",
        "results/part_b/denoiser/ood_metrics.csv",
    ]
    for m in ("time", "class"):
        for e in part_b[m]["sample_epochs"]:
            files += [
                f"results/part_b/{m}/samples_epoch{e}.png",
                f"results/part_b/{m}/sampling_epoch{e}.gif",
            ]
    return files


# Part A (constants of rules/part_a.smk: PART_A_EMBEDDINGS)

# Where part_a_download caches each fetched image.
PART_A_DOWNLOAD = os.path.join(part_a_params.DOWNLOADS, "{download}")


def part_a_inputs(figure):
    """Input function of a job: the backend's model files and the images the job reads."""

    def inputs(wildcards):
        backend = wildcards.backend
        name = figure.format(**dict(wildcards.items()))
        files = {
            "images": [
                part_a_params.input_path(backend, image)
                for image in part_a_params.job_images(config, backend, name)
            ]
        }
        if backend == "deepfloyd":
            files["embeddings"] = PART_A_EMBEDDINGS
        elif part_a_params.is_dataset(backend):
            files["checkpoint"] = deep_dive_path(backend, "checkpoints")
        else:
            files["checkpoint"] = final_checkpoint("class")
        return files

    return inputs


def part_a_args(figure):
    return lambda w: part_a_params.job_args(
        config, w.backend, figure.format(**dict(w.items()))
    )


def part_a_threads(wildcards):
    """Jobs on class models (MNIST, the deep dive's) are small (start-up is most of their
    time): one thread each lets Snakemake run them side by side. DeepFloyd's take the threads of
    any large job."""
    return job_threads(wildcards) if wildcards.backend == "deepfloyd" else 1


def part_a_backend(wildcards):
    return part_a_params.backend_spec(config, wildcards.backend)


def part_a_source(wildcards):
    section = part_a_params.section(config["part_a"], wildcards.backend)
    return section["images"][wildcards.name]


def part_a_input_files(wildcards):
    """What an input image is made from besides settings: the prepared MNIST data for a test
    digit (mnist:N), a data set backend's prepared data for a test image (test:N) and its meta
    (the size and channels of its images), the image file for a local path or a URL (its
    cached download)."""
    backend, source = wildcards.backend, part_a_source(wildcards)
    dataset = part_a_params.is_dataset(backend)
    files = {"meta": deep_dive_path(backend, "data.json")} if dataset else {}
    if source.startswith("mnist:") or (source.startswith("test:") and not dataset):
        return {**files, "data": DATA}
    if source.startswith("test:"):
        return {**files, "data": deep_dive_path(backend, "data.pt")}
    file = part_a_params.source_file(source)
    return {**files, "image": file} if file else files


def part_a_input_setting(wildcards):
    """The source of an input image as a setting: None when it is a file, an input instead
    (its path may be absolute, and what counts is its content)."""
    source = part_a_source(wildcards)
    return None if part_a_params.source_file(source) else source


def part_a_shown(backend):
    """The figures of a backend in the write-up (its .pt tensors are for the evaluation)."""
    figures = part_a_params.figures(config, backend)
    return [f for f in figures if not f.endswith(".pt")]


def part_a_upstream(backend):
    """Files part A's jobs of a backend read besides part B's: inputs and prompt embeddings."""
    jobs = [
        placement.part_a_figure(os.path.splitext(os.path.basename(f))[0]).job
        for f in part_a_shown(backend)
    ]
    images = {
        image: None
        for job in jobs
        for image in part_a_params.job_images(config, backend, job)
    }
    files = [part_a_params.input_path(backend, image) for image in images]
    section = part_a_params.section(config["part_a"], backend)
    sources = [section["images"][image] for image in images]
    files += [
        part_a_params.download_path(s)
        for s in sources
        if s.startswith(part_a_params.URL_PREFIXES)
    ]
    return files + ([PART_A_EMBEDDINGS] if backend == "deepfloyd" else [])


# Deep dive (rules/deep_dive.smk)


DEEP_DIVE = deep_dive_runs.runs(config)
DEEP_DIVE_DIR = "results/deep_dive/{dataset}"
# Each rule's {dataset} is a run of deep_dive.run (matches nothing when none runs).
DEEP_DIVE_NAMES = "|".join(DEEP_DIVE) or "(?!)"


def deep_dive_report(path, caption, section):
    """A deep dive output flagged for Snakemake's report, under its data set and section."""
    return report(
        path,
        caption=f"{REPORT_CAPTIONS}/deep_dive_{caption}.rst",
        category=lambda w: f"Deep dive · {w.dataset}",
        subcategory=placement.section_title("deep", section),
    )


def deep_dive_path(name, file):
    return f"results/deep_dive/{name}/{file}"


def deep_dive_settings(wildcards):
    return deep_dive_runs.run_settings(config, wildcards.dataset)


def deep_dive_title(name):
    return f"{name} ({config['datasets'][name]['source']})"


def deep_dive_data_files(wildcards):
    """The local files a data set is read from (their content counts, not their path)."""
    return data_layout.input_files(config["datasets"][wildcards.dataset])


def deep_dive_samples(name, epochs=None):
    epochs = epochs or deep_dive_runs.sampled_epochs(
        deep_dive_runs.run_settings(config, name)
    )
    return [deep_dive_path(name, f"samples_epoch{e}.pt") for e in epochs]


def deep_dive_judge_files(wildcards):
    """A class model's samples are read by its data set's judge."""
    if deep_dive_settings(wildcards)["kind"] != "class":
        return {}
    return {
        "judge": deep_dive_path(wildcards.dataset, "judge.pt"),
        "judge_info": deep_dive_path(wildcards.dataset, "judge.json"),
    }


def deep_dive_files(name):
    """Every figure and table of one run, as the write-up shows them."""
    epochs = deep_dive_runs.sampled_epochs(deep_dive_runs.run_settings(config, name))
    files = {
        "data_meta": deep_dive_path(name, "data.json"),
        "info": deep_dive_path(name, "training.json"),
        "losses": deep_dive_path(name, "losses.csv"),
        "loss": deep_dive_path(name, "loss.png"),
        "samples": [deep_dive_path(name, f"samples_epoch{e}.png") for e in epochs],
        "animations": [deep_dive_path(name, f"sampling_epoch{e}.gif") for e in epochs],
        "summary": deep_dive_path(name, "summary.png"),
        "detailed": [deep_dive_path(name, f"detailed_epoch{e}.png") for e in epochs],
        "settling": deep_dive_path(name, f"settling_epoch{epochs[-1]}.csv"),
        "memorisation": deep_dive_path(name, "memorisation.csv"),
        "metrics": deep_dive_path(name, "metrics.json"),
        "nearest": deep_dive_path(name, "nearest.png"),
    }
    return files


# Latent diffusion (issue 12): rules/latent.smk

LATENT = deep_dive_runs.latent_runs(config)
LATENT_DIR = "results/latent/{dataset}"
# Each rule's {dataset} is a run of latent.run (matches nothing when none runs).
LATENT_NAMES = "|".join(LATENT) or "(?!)"


def latent_path(name, file):
    return f"results/latent/{name}/{file}"


def latent_settings(wildcards):
    return config["latent"]["models"][wildcards.dataset]


def latent_title(name):
    return f"{deep_dive_title(name)}, latent"


def latent_samples(name):
    epochs = deep_dive_runs.sampled_epochs(
        deep_dive_runs.latent_run_settings(config, name)
    )
    return [latent_path(name, f"samples_epoch{e}.pt") for e in epochs]


def latent_last_epoch(name):
    return deep_dive_runs.latent_run_settings(config, name)["epochs"]


def latent_files(name):
    """Every figure and table of one latent run and its comparison with the pixel run."""
    epochs = deep_dive_runs.sampled_epochs(
        deep_dive_runs.latent_run_settings(config, name)
    )
    return {
        "autoencoder_info": latent_path(name, "autoencoder.json"),
        "autoencoder_loss": latent_path(name, "autoencoder_loss.png"),
        "reconstruction": latent_path(name, "reconstruction.json"),
        "reconstructions": latent_path(name, "reconstructions.png"),
        "latents_info": latent_path(name, "latents.json"),
        "info": latent_path(name, "training.json"),
        "losses": latent_path(name, "losses.csv"),
        "loss": latent_path(name, "loss.png"),
        "samples": [latent_path(name, f"samples_epoch{e}.png") for e in epochs],
        "animations": [latent_path(name, f"sampling_epoch{e}.gif") for e in epochs],
        "summary": latent_path(name, "summary.png"),
        "detailed": [latent_path(name, f"detailed_epoch{e}.png") for e in epochs],
        "settling": latent_path(name, f"settling_epoch{epochs[-1]}.csv"),
        "memorisation": latent_path(name, "memorisation.csv"),
        "metrics": latent_path(name, "metrics.json"),
        "nearest": latent_path(name, "nearest.png"),
        "versus_table": latent_path(name, "versus.csv"),
        "versus": latent_path(name, "versus.json"),
    }


def latent_versus_files(wildcards):
    """Both runs' training records, last samples and metrics, and the benchmark files of the
    jobs whose wall times are compared."""
    name, last = wildcards.dataset, latent_last_epoch(wildcards.dataset)
    pixel_last = deep_dive_settings(wildcards)["epochs"]
    bench = "results/benchmarks/{}.tsv"
    return {
        **deep_dive_judge_files(wildcards),
        "data": deep_dive_path(name, "data.pt"),
        "pixel_info": deep_dive_path(name, "training.json"),
        "latent_info": latent_path(name, "training.json"),
        "pixel_metrics": deep_dive_path(name, "metrics.json"),
        "latent_metrics": latent_path(name, "metrics.json"),
        "pixel_samples": deep_dive_path(name, f"samples_epoch{pixel_last}.pt"),
        "latent_samples": latent_path(name, f"samples_epoch{last}.pt"),
        "pixel_train_job": bench.format(f"deep_dive_train_{name}"),
        "latent_train_job": bench.format(f"latent_train_{name}"),
        "pixel_sample_job": bench.format(f"deep_dive_sample_{name}_epoch{pixel_last}"),
        "latent_sample_job": bench.format(f"latent_sample_{name}_epoch{last}"),
        "autoencoder_job": bench.format(f"latent_autoencoder_{name}"),
        "encode_job": bench.format(f"latent_encode_{name}"),
        "autoencoder": latent_path(name, "autoencoder.pt"),
        "reconstruction": latent_path(name, "reconstruction.json"),
    }
