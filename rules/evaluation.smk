# Evaluation: an MNIST classifier judges the part B models and part A on the MNIST backend;
# metrics as tables and figures.

from diffusionlab.evaluation import part_a_metric_params as eval_part_a

EVAL = config["evaluation"]
CLASSIFIER = "results/evaluation/classifier.pt"


rule train_classifier:
    input:
        data=DATA,
        code=code_inputs("evaluation_classifier.py"),
    output:
        model=CLASSIFIER,
        info="results/evaluation/classifier.json",
    log:
        "logs/evaluation/train_classifier.log",
    benchmark:
        "results/benchmarks/evaluation_train_classifier.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        args={
            "classifier": EVAL["classifier"],
            "seed": config["seed"],
            "device": config["device"],
            "precision": config["performance"]["precision"],
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
        code=code_inputs("evaluation_metrics.py"),
    output:
        **for_report_all(
            {
                "table": "results/evaluation/denoising.csv",
                "figure": "results/evaluation/denoising.png",
            },
            "evaluation_denoising",
            "eval",
            "denoising",
        ),
    log:
        "logs/evaluation/evaluate_denoiser.log",
    benchmark:
        "results/benchmarks/evaluation_denoiser.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="denoising",
        args={
            "epochs": checkpoint_epochs(config["part_b"], "denoiser"),
            "sigmas": EVAL["denoising"]["sigmas"],
            "digits": EVAL["denoising"]["digits"],
            "seed": config["seed"],
            "device": config["device"],
            "precision": config["performance"]["sample_precision"],
        },
    script:
        "../scripts/evaluation_metrics.py"


MODEL_NAMES = {"time": "time-conditioned", "class": "class-conditioned"}
# What every sampling job of the evaluation is given.
SAMPLING_ARGS = {
    "schedule": config["part_b"]["schedule"],
    "spacing": EVAL["spacing"],
    "batch_size": EVAL["batch_size"],
    "seed": config["seed"],
    "device": config["device"],
    "precision": config["performance"]["sample_precision"],
}


rule evaluate_checkpoints:
    input:
        data=DATA,
        classifier=CLASSIFIER,
        checkpoints=lambda w: [
            checkpoint(w.model, e)
            for e in checkpoint_epochs(config["part_b"], w.model)
        ],
        code=code_inputs("evaluation_metrics.py"),
    output:
        table=for_report(
            "results/evaluation/checkpoints_{model}.csv",
            "evaluation_checkpoints",
            "eval",
            "checkpoints",
        ),
    log:
        "logs/evaluation/evaluate_checkpoints_{model}.log",
    benchmark:
        "results/benchmarks/evaluation_checkpoints_{model}.tsv"
    wildcard_constraints:
        model="time|class",
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="checkpoints",
        args=lambda w: {
            **SAMPLING_ARGS,
            "num_samples": EVAL["checkpoints"]["num_samples"],
            "epochs": checkpoint_epochs(config["part_b"], w.model),
            "guidance": model_guidance(w.model),
        },
    script:
        "../scripts/evaluation_metrics.py"


rule evaluate_sampler_steps:
    input:
        data=DATA,
        classifier=CLASSIFIER,
        checkpoint=lambda w: final_checkpoint(w.model),
        code=code_inputs("evaluation_metrics.py"),
    output:
        **for_report_all(
            {
                "quality": "results/evaluation/steps_{model}.csv",
                "timing": "results/evaluation/steps_{model}_timing.csv",
                "figure": "results/evaluation/steps_{model}.png",
            },
            "evaluation_steps",
            "eval",
            "steps",
        ),
    log:
        "logs/evaluation/evaluate_sampler_steps_{model}.log",
    benchmark:
        "results/benchmarks/evaluation_sampler_steps_{model}.tsv"
    wildcard_constraints:
        model="time|class",
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="sampler_steps",
        args=lambda w: {
            **SAMPLING_ARGS,
            "steps": EVAL["sampler_steps"]["steps"],
            "methods": EVAL["sampler_steps"]["methods"],
            "num_samples": EVAL["sampler_steps"]["num_samples"],
            "model_name": MODEL_NAMES[w.model],
            "guidance": model_guidance(w.model),
        },
    script:
        "../scripts/evaluation_metrics.py"


rule evaluate_guidance:
    input:
        classifier=CLASSIFIER,
        checkpoint=final_checkpoint("class"),
        code=code_inputs("evaluation_metrics.py"),
    output:
        **for_report_all(
            {
                "table": "results/evaluation/guidance.csv",
                "figure": "results/evaluation/guidance.png",
            },
            "evaluation_guidance",
            "eval",
            "guidance",
        ),
    log:
        "logs/evaluation/evaluate_guidance.log",
    benchmark:
        "results/benchmarks/evaluation_guidance.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="guidance",
        args={
            **SAMPLING_ARGS,
            "scales": EVAL["guidance"]["scales"],
            "digits": EVAL["guidance"]["digits"],
            "samples_per_digit": EVAL["guidance"]["samples_per_digit"],
            "num_steps": EVAL["guidance"]["num_steps"],
            "method": EVAL["guidance"]["method"],
        },
    script:
        "../scripts/evaluation_metrics.py"


# Part A on the MNIST backend: its illusions and SDEdit read by the classifier. Every file by
# name (illusions_table, illusions_figure, sdedit_table, ...; see
# diffusionlab.evaluation.part_a_metric_params), and the benchmarks of the jobs behind them; both
# are empty, and the rules absent, when part_a.backends has no mnist.
EVAL_PART_A_FILES = eval_part_a.files(config)
EVAL_PART_A_BENCHMARKS = []

if EVAL_PART_A_FILES:
    # The figures' own images when they hold enough of them, else the model to sample from.
    if eval_part_a.judges_figure_images(config):
        EVAL_ILLUSION_IMAGES = {"figure_tensors": eval_part_a.figure_images(config)}
    else:
        EVAL_ILLUSION_IMAGES = {"checkpoint": final_checkpoint("class")}

    rule evaluate_illusions:
        input:
            **EVAL_ILLUSION_IMAGES,
            data=DATA,
            classifier=CLASSIFIER,
            code=code_inputs("evaluation_part_a.py"),
        output:
            **for_report_all(
                eval_part_a.outputs(eval_part_a.ILLUSION_OUTPUTS),
                "evaluation_illusions",
                "eval",
                "part_a",
            ),
        log:
            "logs/evaluation/evaluate_illusions.log",
        benchmark:
            "results/benchmarks/evaluation_illusions.tsv"
        conda:
            CONDA_ENV
        threads: job_threads
        resources:
            gpu=GPU,
        params:
            job="illusions",
            args=eval_part_a.illusion_args(config),
        script:
            "../scripts/evaluation_part_a.py"

    rule evaluate_sdedit:
        input:
            data=DATA,
            classifier=CLASSIFIER,
            checkpoint=final_checkpoint("class"),
            code=code_inputs("evaluation_part_a.py"),
        output:
            **for_report_all(
                eval_part_a.outputs(eval_part_a.SDEDIT_OUTPUTS),
                "evaluation_sdedit",
                "A",
                "1.7",
                backend=eval_part_a.BACKEND,
            ),
        log:
            "logs/evaluation/evaluate_sdedit.log",
        benchmark:
            "results/benchmarks/evaluation_sdedit.tsv"
        conda:
            CONDA_ENV
        threads: job_threads
        resources:
            gpu=GPU,
        params:
            job="sdedit",
            args=eval_part_a.sdedit_args(config),
        script:
            "../scripts/evaluation_part_a.py"

    EVAL_PART_A_BENCHMARKS = [
        rules.evaluate_illusions.benchmark,
        rules.evaluate_sdedit.benchmark,
    ]


# The samples the targets read: each model's last epoch drawn as its figure (rule sample) draws
# its grid, in as many batches of the figure's size as evaluation.targets.samples_per_digit
# asks for; the judge's reading of each sample, and how they were drawn.
rule evaluate_target_samples:
    input:
        data=DATA,
        classifier=CLASSIFIER,
        checkpoint=lambda w: final_checkpoint(w.model),
        code=code_inputs("evaluation_metrics.py"),
    output:
        table="results/evaluation/target_samples_{model}.csv",
        drawn="results/evaluation/target_samples_{model}.json",
    log:
        "logs/evaluation/evaluate_target_samples_{model}.log",
    benchmark:
        "results/benchmarks/evaluation_target_samples_{model}.tsv"
    wildcard_constraints:
        model="time|class",
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        job="target_samples",
        args=lambda w: {
            **figure_sampling(w),
            **EVAL["targets"],
        },
    script:
        "../scripts/evaluation_metrics.py"


rule evaluation_targets:
    input:
        **(
            {"illusions": EVAL_PART_A_FILES["illusions_table"]}
            if EVAL_PART_A_FILES
            else {}
        ),
        classifier_info=rules.train_classifier.output.info,
        time_losses=rules.train_time.output.losses,
        time_samples=rules.evaluate_target_samples.output.table.format(model="time"),
        time_drawn=rules.evaluate_target_samples.output.drawn.format(model="time"),
        class_samples=rules.evaluate_target_samples.output.table.format(model="class"),
        class_drawn=rules.evaluate_target_samples.output.drawn.format(model="class"),
        code=code_inputs("evaluation_targets.py"),
    output:
        table=for_report(
            "results/evaluation/targets.csv", "evaluation_targets", "eval", "targets"
        ),
    log:
        "logs/evaluation/evaluation_targets.log",
    benchmark:
        "results/benchmarks/evaluation_targets.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluation_targets.py"


rule evaluation:
    input:
        rules.train_classifier.output,
        rules.evaluate_denoiser.output,
        expand(rules.evaluate_checkpoints.output, model=["time", "class"]),
        expand(
            rules.evaluate_sampler_steps.output, model=EVAL["sampler_steps"]["models"]
        ),
        rules.evaluate_guidance.output,
        list(EVAL_PART_A_FILES.values()),
        rules.evaluation_targets.output,
