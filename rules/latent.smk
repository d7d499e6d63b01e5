# Latent diffusion (issue 12): a run of deep_dive.run named in latent.run also runs in the latent
# space of an autoencoder trained on its data set, with the pixel run's DDPM settings (its
# "pixel twin"), scoped by the same {dataset} wildcard; results/latent/{dataset}/.
# Helpers and constants: rules/common.smk (section "Latent diffusion").


rule latent_autoencoder:
    input:
        data=f"{DEEP_DIVE_DIR}/data.pt",
        code=code_inputs("latent_autoencoder.py"),
    output:
        checkpoint=f"{LATENT_DIR}/autoencoder.pt",
        losses=f"{LATENT_DIR}/autoencoder_losses.csv",
        info=f"{LATENT_DIR}/autoencoder.json",
    log:
        "logs/latent/autoencoder_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_autoencoder_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=240,
    params:
        args=lambda w: {
            "autoencoder": latent_settings(w)["autoencoder"],
            "training": latent_settings(w)["training"],
            "ddpm_model": deep_dive_runs.spec_options(deep_dive_settings(w)),
            "seed": config["seed"],
            "device": config["device"],
            "workdir": f"results/latent/{w.dataset}/autoencoder_resume",
        },
    script:
        "../scripts/latent_autoencoder.py"


rule latent_autoencoder_loss:
    input:
        losses=f"{LATENT_DIR}/autoencoder_losses.csv",
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=f"{LATENT_DIR}/autoencoder_loss.png",
    log:
        "logs/latent/autoencoder_loss_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_autoencoder_loss_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    params:
        job="loss_plot",
        args=lambda w: {"title": f"{deep_dive_title(w.dataset)}, autoencoder"},
    script:
        "../scripts/deep_dive_figures.py"


rule latent_reconstruction:
    input:
        autoencoder=f"{LATENT_DIR}/autoencoder.pt",
        data=f"{DEEP_DIVE_DIR}/data.pt",
        code=code_inputs("latent_reconstruction.py"),
    output:
        metrics=f"{LATENT_DIR}/reconstruction.json",
        figure=deep_dive_report(
            f"{LATENT_DIR}/reconstructions.png", "latent_reconstructions", "latent"
        ),
    log:
        "logs/latent/reconstruction_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_reconstruction_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args=lambda w: {
            "shown": latent_settings(w)["reconstructions"],
            "batch_size": latent_settings(w)["encode_batch_size"],
            "device": config["device"],
            "title": deep_dive_title(w.dataset),
        },
    script:
        "../scripts/latent_reconstruction.py"


# Once per autoencoder checkpoint: both splits' latents and their scale.
rule latent_encode:
    input:
        autoencoder=f"{LATENT_DIR}/autoencoder.pt",
        data=f"{DEEP_DIVE_DIR}/data.pt",
        code=code_inputs("latent_encode.py"),
    output:
        latents=f"{LATENT_DIR}/latents.pt",
        info=f"{LATENT_DIR}/latents.json",
    log:
        "logs/latent/encode_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_encode_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args=lambda w: {
            "batch_size": latent_settings(w)["encode_batch_size"],
            "device": config["device"],
        },
    script:
        "../scripts/latent_encode.py"


rule latent_train:
    input:
        latents=f"{LATENT_DIR}/latents.pt",
        code=code_inputs("latent_train.py"),
    output:
        checkpoints=directory(f"{LATENT_DIR}/checkpoints"),
        losses=f"{LATENT_DIR}/losses.csv",
        info=f"{LATENT_DIR}/training.json",
    log:
        "logs/latent/train_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_train_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=240,
    params:
        settings=lambda w: deep_dive_runs.train_settings(config, w.dataset, latent=True),
        performance=training_performance(),
        device=config["device"],
        workdir=f"{LATENT_DIR}/resume",
    script:
        "../scripts/latent_train.py"


use rule deep_dive_loss as latent_loss with:
    input:
        losses=f"{LATENT_DIR}/losses.csv",
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=f"{LATENT_DIR}/loss.png",
    log:
        "logs/latent/loss_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_loss_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    params:
        job="loss_plot",
        args=lambda w: {"title": latent_title(w.dataset)},


rule latent_sample:
    input:
        checkpoints=f"{LATENT_DIR}/checkpoints",
        autoencoder=f"{LATENT_DIR}/autoencoder.pt",
        code=code_inputs("latent_sample.py"),
    output:
        grid=deep_dive_report(
            f"{LATENT_DIR}/samples_epoch{{epoch}}.png", "latent_samples", "latent"
        ),
        gif=deep_dive_report(
            f"{LATENT_DIR}/sampling_epoch{{epoch}}.gif", "latent_samples", "latent"
        ),
        tensors=f"{LATENT_DIR}/samples_epoch{{epoch}}.pt",
    log:
        "logs/latent/sample_{dataset}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/latent_sample_{dataset}_epoch{epoch}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
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
        "../scripts/latent_sample.py"


use rule deep_dive_summary as latent_summary with:
    input:
        samples=lambda w: latent_samples(w.dataset),
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=f"{LATENT_DIR}/summary.png",
    log:
        "logs/latent/summary_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_summary_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    params:
        job="summary",
        args=lambda w: {
            "title": latent_title(w.dataset),
            "count": deep_dive_settings(w)["summary_samples"],
        },


use rule deep_dive_detailed as latent_detailed with:
    input:
        samples=f"{LATENT_DIR}/samples_epoch{{epoch}}.pt",
        code=code_inputs("deep_dive_figures.py"),
    output:
        out=f"{LATENT_DIR}/detailed_epoch{{epoch}}.png",
        settling_table=f"{LATENT_DIR}/settling_epoch{{epoch}}.csv",
    log:
        "logs/latent/detailed_{dataset}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/latent_detailed_{dataset}_epoch{epoch}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    params:
        job="detailed",
        args=lambda w: {"title": latent_title(w.dataset)},


# The same judges as the pixel run's: memorisation against its training images, its data set's
# classifier and the standard FID where Inception weights can be had.
use rule deep_dive_metrics as latent_metrics with:
    input:
        unpack(deep_dive_judge_files),
        data=f"{DEEP_DIVE_DIR}/data.pt",
        samples=lambda w: latent_samples(w.dataset)[-1],
        code=code_inputs("deep_dive_metrics.py"),
    output:
        table=f"{LATENT_DIR}/memorisation.csv",
        summary=f"{LATENT_DIR}/metrics.json",
        figure=f"{LATENT_DIR}/nearest.png",
    log:
        "logs/latent/metrics_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_metrics_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    params:
        args=lambda w: {
            "near_copy_rms": config["deep_dive"]["near_copy_rms"],
            "title": latent_title(w.dataset),
            "fid": deep_dive_runs.fid_setting(config),
            "device": config["device"],
        },


rule latent_versus:
    input:
        unpack(latent_versus_files),
        code=code_inputs("latent_versus.py"),
    output:
        table=deep_dive_report(f"{LATENT_DIR}/versus.csv", "latent_versus", "latent"),
        summary=f"{LATENT_DIR}/versus.json",
    log:
        "logs/latent/versus_{dataset}.log",
    benchmark:
        "results/benchmarks/latent_versus_{dataset}.tsv"
    wildcard_constraints:
        dataset=LATENT_NAMES,
    conda:
        CONDA_ENV
    threads: job_threads
    params:
        args=lambda w: {
            "epochs": {
                "pixel": deep_dive_settings(w)["epochs"],
                "latent": latent_last_epoch(w.dataset),
            }
        },
    script:
        "../scripts/latent_versus.py"


# Every latent run of latent.run: snakemake latent
rule latent:
    input:
        [paths_in(latent_files(name).values()) for name in LATENT],
