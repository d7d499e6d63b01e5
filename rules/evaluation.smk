# Evaluation: an MNIST classifier judges the part B models; metrics as tables and figures.

EVAL = config["evaluation"]
# Package modules each script imports, directly or through the evaluation modules.
CLASSIFIER_MODULES = (
    "data",
    "schedule",
    "unet",
    "training",
    "evaluation/__init__",
    "evaluation/batched",
    "evaluation/classifier",
)
SAMPLING_MODULES = CLASSIFIER_MODULES + (
    "sampling",
    "figures",
    "evaluation/fast_sampling",
    "evaluation/frechet",
    "evaluation/sample_quality",
    "evaluation/plots",
)
CLASSIFIER = "results/evaluation/classifier.pt"


rule train_classifier:
    input:
        data=DATA,
        code=src(*CLASSIFIER_MODULES),
    output:
        model=CLASSIFIER,
        info="results/evaluation/classifier.json",
    log:
        "logs/evaluation/train_classifier.log",
    benchmark:
        "results/benchmarks/evaluation_train_classifier.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        args={
            "classifier": EVAL["classifier"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/evaluation_classifier.py"


rule evaluate_denoiser:
    input:
        data=DATA,
        checkpoints=[
            checkpoint("denoiser", e)
            for e in checkpoint_epochs(config["part_b"], "denoiser")
        ],
        code=src(
            *CLASSIFIER_MODULES, "figures", "evaluation/denoising", "evaluation/plots"
        ),
    output:
        table="results/evaluation/denoising.csv",
        figure="results/evaluation/denoising.png",
    log:
        "logs/evaluation/evaluate_denoiser.log",
    benchmark:
        "results/benchmarks/evaluation_denoiser.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        job="denoising",
        args={
            "epochs": checkpoint_epochs(config["part_b"], "denoiser"),
            "sigmas": EVAL["denoising"]["sigmas"],
            "digits": EVAL["denoising"]["digits"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/evaluation_metrics.py"


MODEL_NAMES = {"time": "time-conditioned", "class": "class-conditioned"}
SAMPLER_ARGS = {
    "schedule": config["part_b"]["schedule"],
    "steps": EVAL["sampler_steps"]["steps"],
    "methods": EVAL["sampler_steps"]["methods"],
    "spacing": EVAL["spacing"],
    "num_samples": EVAL["sampler_steps"]["num_samples"],
    "batch_size": EVAL["batch_size"],
    "seed": config["seed"],
    "device": config["device"],
}


rule evaluate_sampler_steps:
    input:
        data=DATA,
        classifier=CLASSIFIER,
        checkpoint=lambda w: final_checkpoint(w.model),
        code=src(*SAMPLING_MODULES),
    output:
        quality="results/evaluation/steps_{model}.csv",
        timing="results/evaluation/steps_{model}_timing.csv",
        figure="results/evaluation/steps_{model}.png",
    log:
        "logs/evaluation/evaluate_sampler_steps_{model}.log",
    benchmark:
        "results/benchmarks/evaluation_sampler_steps_{model}.tsv"
    wildcard_constraints:
        model="time|class",
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        job="sampler_steps",
        args=lambda w: {
            **SAMPLER_ARGS,
            "model_name": MODEL_NAMES[w.model],
            # the class-conditioned model is sampled with the guidance of part B
            "guidance": (
                config["part_b"]["class"]["guidance"] if w.model == "class" else 0.0
            ),
        },
    script:
        "../scripts/evaluation_metrics.py"


rule evaluate_guidance:
    input:
        classifier=CLASSIFIER,
        checkpoint=final_checkpoint("class"),
        code=src(*SAMPLING_MODULES),
    output:
        table="results/evaluation/guidance.csv",
        figure="results/evaluation/guidance.png",
    log:
        "logs/evaluation/evaluate_guidance.log",
    benchmark:
        "results/benchmarks/evaluation_guidance.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    params:
        job="guidance",
        args={
            "schedule": config["part_b"]["schedule"],
            "scales": EVAL["guidance"]["scales"],
            "digits": EVAL["guidance"]["digits"],
            "samples_per_digit": EVAL["guidance"]["samples_per_digit"],
            "num_steps": EVAL["guidance"]["num_steps"],
            "method": EVAL["guidance"]["method"],
            "spacing": EVAL["spacing"],
            "batch_size": EVAL["batch_size"],
            "seed": config["seed"],
            "device": config["device"],
        },
    script:
        "../scripts/evaluation_metrics.py"


rule evaluation:
    input:
        rules.train_classifier.output,
        rules.evaluate_denoiser.output,
        expand(
            rules.evaluate_sampler_steps.output, model=EVAL["sampler_steps"]["models"]
        ),
        rules.evaluate_guidance.output,
