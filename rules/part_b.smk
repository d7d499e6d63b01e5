# Part B: UNets and DDPMs trained from scratch on MNIST.

PART_B = config["part_b"]
TRAIN_CODE = src("data", "unet", "schedule", "training", "part_b")
# Batched inference and error measures that part B's denoiser figures share with evaluation.
EVAL_HELPERS = ("evaluation/__init__", "evaluation/batched", "evaluation/denoising")


for model in MODELS:

    rule:
        name:
            f"train_{model}"
        input:
            data=DATA,
            code=TRAIN_CODE,
        output:
            checkpoints=[checkpoint(model, e) for e in checkpoint_epochs(PART_B, model)],
            losses=f"results/part_b/{model}/losses.csv",
            info=f"results/part_b/{model}/training.json",
        log:
            f"logs/part_b/train_{model}.log",
        benchmark:
            f"results/benchmarks/train_{model}.tsv"
        threads: workflow.cores
        resources:
            gpu=1,
            mem_mb=8000,
            runtime=120,
        params:
            settings=train_settings(config, model),
            performance=performance(),
            device=config["device"],
            workdir=f"results/part_b/{model}/resume",
        script:
            "../scripts/train.py"


rule loss_curve:
    input:
        losses="results/part_b/{model}/losses.csv",
        code=src("figures", "part_b"),
    output:
        out="results/part_b/{model}/loss.png",
    log:
        "logs/part_b/loss_curve_{model}.log",
    benchmark:
        "results/benchmarks/loss_curve_{model}.tsv"
    wildcard_constraints:
        model="|".join(MODELS),
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
        code=src("data", "figures", "part_b"),
    output:
        out="results/part_b/noising.png",
    log:
        "logs/part_b/noising_figure.log",
    benchmark:
        "results/benchmarks/noising_figure.tsv"
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
        code=src("data", "figures", "part_b", "unet", "training", *EVAL_HELPERS),
    output:
        out="results/part_b/denoiser/results_epoch{epoch}.png",
    log:
        "logs/part_b/denoiser_results_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/denoiser_results_epoch{epoch}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        job="denoiser_results",
        args={
            "sigma": PART_B["denoiser"]["sigma"],
            "digits": PART_B["denoiser"]["figure_digits"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/part_b_figures.py"


rule denoiser_ood:
    input:
        data=DATA,
        checkpoint=final_checkpoint("denoiser"),
        code=src("data", "figures", "part_b", "unet", "training", *EVAL_HELPERS),
    output:
        figure="results/part_b/denoiser/ood.png",
        metrics="results/part_b/denoiser/ood_metrics.csv",
    log:
        "logs/part_b/denoiser_ood.log",
    benchmark:
        "results/benchmarks/denoiser_ood.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        job="ood",
        args={
            "sigmas": PART_B["denoiser"]["ood_sigmas"],
            "digits": PART_B["denoiser"]["figure_digits"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/part_b_figures.py"


def sampling_args(wildcards):
    section = PART_B[wildcards.model]
    args = {
        "schedule": PART_B["schedule"],
        "seed": config["seed"],
        "frame_every": PART_B["animation"]["every"],
        "frame_ms": PART_B["animation"]["frame_ms"],
        "device": config["device"],
    }
    if wildcards.model == "class":
        args.update(
            samples_per_class=section["samples_per_class"], guidance=section["guidance"]
        )
    else:
        args["num_samples"] = section["num_samples"]
    return args


rule sample:
    input:
        checkpoint=checkpoint("{model}", "{epoch}"),
        code=src("figures", "part_b", "sampling", "schedule", "unet", "training"),
    output:
        grid="results/part_b/{model}/samples_epoch{epoch}.png",
        gif="results/part_b/{model}/sampling_epoch{epoch}.gif",
    log:
        "logs/part_b/sample_{model}_epoch{epoch}.log",
    benchmark:
        "results/benchmarks/sample_{model}_epoch{epoch}.tsv"
    wildcard_constraints:
        model="time|class",
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        args=sampling_args,
    script:
        "../scripts/sample.py"


def part_b_figures():
    """Every part B artifact of the write-up, in the order of the exercise."""
    files = ["results/part_b/noising.png"]
    files += [f"results/part_b/{m}/loss.png" for m in MODELS]
    files += [
        f"results/part_b/denoiser/results_epoch{e}.png"
        for e in PART_B["denoiser"]["figure_epochs"]
    ]
    files += [
        "results/part_b/denoiser/ood.png",
        "results/part_b/denoiser/ood_metrics.csv",
    ]
    for m in ("time", "class"):
        for e in PART_B[m]["sample_epochs"]:
            files += [
                f"results/part_b/{m}/samples_epoch{e}.png",
                f"results/part_b/{m}/sampling_epoch{e}.gif",
            ]
    return files


rule part_b:
    input:
        part_b_figures(),
