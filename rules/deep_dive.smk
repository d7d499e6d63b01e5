# The deep dive (issue 11): part B's DDPMs on other data sets. Every rule is scoped by the
# {dataset} wildcard, a name of deep_dive.run: adding a data set is a config entry, not a rule.

from diffusionlab.deep_dive import runs as deep_dive_runs

try:
    deep_dive_runs.check(config)
except ConfigError as err:
    sys.exit(str(err))

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
        subcategory=site_workflow.section_title("deep", section),
    )


def deep_dive_path(name, file):
    return f"results/deep_dive/{name}/{file}"


def deep_dive_settings(wildcards):
    return deep_dive_runs.run_settings(config, wildcards.dataset)


def deep_dive_title(name):
    return f"{name} ({config['datasets'][name]['source']})"


def deep_dive_data_files(wildcards):
    """A single image from a local file is an input (its content counts, not its path)."""
    entry = config["datasets"][wildcards.dataset]
    image = entry.get("image", "") if entry["source"] == "image" else ""
    local = image and not image.startswith(("skimage:", "http://", "https://"))
    return [image] if local else []


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


rule deep_dive_data:
    input:
        files=deep_dive_data_files,
        code=code_inputs("prepare_data.py"),
    output:
        tensors=f"{DEEP_DIVE_DIR}/data.pt",
        meta=f"{DEEP_DIVE_DIR}/data.json",
    log:
        "logs/deep_dive/data_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_data_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    params:
        data=lambda w: config["datasets"][w.dataset],
        name=lambda w: w.dataset,
    script:
        "../scripts/prepare_data.py"


rule deep_dive_train:
    input:
        data=f"{DEEP_DIVE_DIR}/data.pt",
        code=code_inputs("deep_dive_train.py"),
    output:
        checkpoints=directory(f"{DEEP_DIVE_DIR}/checkpoints"),
        losses=f"{DEEP_DIVE_DIR}/losses.csv",
        info=f"{DEEP_DIVE_DIR}/training.json",
    log:
        "logs/deep_dive/train_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_train_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    threads: all_cores
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        settings=lambda w: deep_dive_runs.train_settings(config, w.dataset),
        performance=training_performance(),
        device=config["device"],
        workdir=f"{DEEP_DIVE_DIR}/resume",
    script:
        "../scripts/deep_dive_train.py"


rule deep_dive_loss:
    input:
        losses=f"{DEEP_DIVE_DIR}/losses.csv",
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=deep_dive_report(f"{DEEP_DIVE_DIR}/loss.png", "loss", "training"),
    log:
        "logs/deep_dive/loss_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_loss_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    params:
        job="loss_plot",
        args=lambda w: {"title": deep_dive_title(w.dataset)},
    script:
        "../scripts/deep_dive_figures.py"


rule deep_dive_sample:
    input:
        checkpoints=f"{DEEP_DIVE_DIR}/checkpoints",
        code=code_inputs("deep_dive_sample.py"),
    output:
        grid=deep_dive_report(
            f"{DEEP_DIVE_DIR}/samples_epoch{{epoch}}.png", "samples", "samples"
        ),
        gif=deep_dive_report(
            f"{DEEP_DIVE_DIR}/sampling_epoch{{epoch}}.gif", "samples", "samples"
        ),
        tensors=f"{DEEP_DIVE_DIR}/samples_epoch{{epoch}}.pt",
    log:
        "logs/deep_dive/sample_{dataset}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/deep_dive_sample_{dataset}_epoch{epoch}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    threads: all_cores
    resources:
        gpu=1,
    params:
        args=lambda w: {
            **deep_dive_runs.sampling_settings(config, w.dataset),
            "title": deep_dive_title(w.dataset),
        },
    script:
        "../scripts/deep_dive_sample.py"


rule deep_dive_summary:
    input:
        samples=lambda w: deep_dive_samples(w.dataset),
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=deep_dive_report(f"{DEEP_DIVE_DIR}/summary.png", "summary", "sampling"),
    log:
        "logs/deep_dive/summary_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_summary_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    params:
        job="summary",
        args=lambda w: {
            "title": deep_dive_title(w.dataset),
            "count": deep_dive_settings(w)["summary_samples"],
        },
    script:
        "../scripts/deep_dive_figures.py"


rule deep_dive_detailed:
    input:
        samples=f"{DEEP_DIVE_DIR}/samples_epoch{{epoch}}.pt",
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=deep_dive_report(
            f"{DEEP_DIVE_DIR}/detailed_epoch{{epoch}}.png", "detailed", "sampling"
        ),
        settling_table=deep_dive_report(
            f"{DEEP_DIVE_DIR}/settling_epoch{{epoch}}.csv", "detailed", "sampling"
        ),
    log:
        "logs/deep_dive/detailed_{dataset}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/deep_dive_detailed_{dataset}_epoch{epoch}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    params:
        job="detailed",
        args=lambda w: {"title": deep_dive_title(w.dataset)},
    script:
        "../scripts/deep_dive_figures.py"


rule deep_dive_judge:
    input:
        data=f"{DEEP_DIVE_DIR}/data.pt",
        code=code_inputs("deep_dive_judge.py"),
    output:
        model=f"{DEEP_DIVE_DIR}/judge.pt",
        info=f"{DEEP_DIVE_DIR}/judge.json",
    log:
        "logs/deep_dive/judge_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_judge_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    threads: all_cores
    resources:
        gpu=1,
    params:
        args={
            "judge": config["deep_dive"]["judge"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/deep_dive_judge.py"


rule deep_dive_metrics:
    input:
        unpack(deep_dive_judge_files),
        data=f"{DEEP_DIVE_DIR}/data.pt",
        samples=lambda w: deep_dive_samples(w.dataset)[-1],
        code=code_inputs("deep_dive_metrics.py"),
    output:
        table=deep_dive_report(
            f"{DEEP_DIVE_DIR}/memorisation.csv", "memorisation", "memorisation"
        ),
        summary=f"{DEEP_DIVE_DIR}/metrics.json",
        figure=deep_dive_report(
            f"{DEEP_DIVE_DIR}/nearest.png", "memorisation", "memorisation"
        ),
    log:
        "logs/deep_dive/metrics_{dataset}.log",
    benchmark:
        "results/benchmarks/deep_dive_metrics_{dataset}.tsv"
    wildcard_constraints:
        dataset=DEEP_DIVE_NAMES,
    conda:
        CONDA_ENV
    threads: all_cores
    params:
        args=lambda w: {
            "near_copy_rms": config["deep_dive"]["near_copy_rms"],
            "title": deep_dive_title(w.dataset),
        },
    script:
        "../scripts/deep_dive_metrics.py"


# Every run of deep_dive.run: snakemake deep_dive
rule deep_dive:
    input:
        [paths_in(deep_dive_files(name).values()) for name in DEEP_DIVE],
