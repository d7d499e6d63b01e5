# The deep dive (issue 11): part B's DDPMs on other data sets. Every rule is scoped by the
# {dataset} wildcard, a name of deep_dive.run: adding a data set is a config entry, not a rule.
# Helpers and constants: rules/common.smk (section "Deep dive").


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
    threads: job_threads
    resources:
        gpu=GPU,
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
    threads: job_threads
    resources:
        gpu=GPU,
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
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args={
            "judge": config["deep_dive"]["judge"],
            "seed": config["seed"],
            "device": config["device"],
            "precision": config["performance"]["precision"],
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
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args=lambda w: {
            "near_copy_rms": config["deep_dive"]["near_copy_rms"],
            "title": deep_dive_title(w.dataset),
            "fid": deep_dive_runs.fid_setting(config),
            "device": config["device"],
        },
    script:
        "../scripts/deep_dive_metrics.py"


# Every run of deep_dive.run: snakemake deep_dive
rule deep_dive:
    input:
        [paths_in(deep_dive_files(name).values()) for name in DEEP_DIVE],
