# Part B: UNets and DDPMs trained from scratch on MNIST.

PART_B = config["part_b"]


for model in MODELS:

    rule:
        name:
            f"train_{model}"
        input:
            data=DATA,
            code=code_inputs("train.py"),
        output:
            checkpoints=[checkpoint(model, e) for e in checkpoint_epochs(PART_B, model)],
            losses=f"results/part_b/{model}/losses.csv",
            info=f"results/part_b/{model}/training.json",
        log:
            f"logs/part_b/train_{model}.log",
        benchmark:
            f"results/benchmarks/train_{model}.tsv"
        # The longest jobs of the exercise first, where jobs run side by side (device: cpu).
        priority: 10
        conda:
            CONDA_ENV
        threads: job_threads
        resources:
            gpu=GPU,
            mem_mb=8000,
            runtime=120,
        params:
            settings=train_settings(config, model),
            performance=training_performance(),
            device=config["device"],
            workdir=f"results/part_b/{model}/resume",
        script:
            "../scripts/train.py"


rule loss_curve:
    input:
        losses="results/part_b/{model}/losses.csv",
        code=code_inputs("part_b_figures.py"),
    output:
        out=for_report("results/part_b/{model}/loss.png", "loss", "B", part_b_section),
    log:
        "logs/part_b/loss_curve_{model}.log",
    benchmark:
        "results/benchmarks/loss_curve_{model}.tsv"
    wildcard_constraints:
        model="|".join(MODELS),
    conda:
        CONDA_ENV
    params:
        job="loss_plot",
        args=lambda w: {
            "title": {
                "denoiser": f"One-step denoiser (σ = {PART_B['denoiser']['sigma']:g})",
                "time": "Time-conditioned UNet",
                "class": "Class-conditioned UNet",
            }[w.model]
            + " training loss"
        },
    script:
        "../scripts/part_b_figures.py"


rule noising_figure:
    input:
        data=DATA,
        code=code_inputs("part_b_figures.py"),
    output:
        out=for_report("results/part_b/noising.png", "noising", "B", "1.2"),
    log:
        "logs/part_b/noising_figure.log",
    benchmark:
        "results/benchmarks/noising_figure.tsv"
    conda:
        CONDA_ENV
    params:
        job="noising",
        args={
            "sigmas": PART_B["noising"]["sigmas"],
            "digits": PART_B["noising"]["digits"],
            "seed": config["seed"],
        },
    script:
        "../scripts/part_b_figures.py"


rule denoiser_results:
    input:
        data=DATA,
        checkpoint=checkpoint("denoiser", "{epoch}"),
        code=code_inputs("part_b_figures.py"),
    output:
        out=for_report(
            "results/part_b/denoiser/results_epoch{epoch}.png",
            "denoiser_results",
            "B",
            "1.2.1",
        ),
    log:
        "logs/part_b/denoiser_results_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/denoiser_results_epoch{epoch}.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="denoiser_results",
        args={
            "sigma": PART_B["denoiser"]["sigma"],
            "digits": PART_B["denoiser"]["figure_digits"],
            "seed": config["seed"],
            "device": config["device"],
            "precision": config["performance"]["sample_precision"],
        },
    script:
        "../scripts/part_b_figures.py"


rule denoiser_ood:
    input:
        data=DATA,
        checkpoint=final_checkpoint("denoiser"),
        code=code_inputs("part_b_figures.py"),
    output:
        figure=for_report("results/part_b/denoiser/ood.png", "ood", "B", "1.2.2"),
        metrics=for_report(
            "results/part_b/denoiser/ood_metrics.csv", "ood_metrics", "B", "1.2.2"
        ),
    log:
        "logs/part_b/denoiser_ood.log",
    benchmark:
        "results/benchmarks/denoiser_ood.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="ood",
        args={
            "sigmas": PART_B["denoiser"]["ood_sigmas"],
            "digits": PART_B["denoiser"]["figure_digits"],
            "seed": config["seed"],
            "device": config["device"],
            "precision": config["performance"]["sample_precision"],
        },
    script:
        "../scripts/part_b_figures.py"


rule sample:
    input:
        checkpoint=checkpoint("{model}", "{epoch}"),
        code=code_inputs("sample.py"),
    output:
        grid=for_report(
            "results/part_b/{model}/samples_epoch{epoch}.png",
            "samples",
            "B",
            part_b_section,
        ),
        gif=for_report(
            "results/part_b/{model}/sampling_epoch{epoch}.gif",
            "animation",
            "B",
            part_b_section,
        ),
    log:
        "logs/part_b/sample_{model}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/sample_{model}_epoch{epoch}.tsv"
    wildcard_constraints:
        model="time|class",
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args=sampling_args,
    script:
        "../scripts/sample.py"


rule part_b:
    input:
        part_b_figures(),
