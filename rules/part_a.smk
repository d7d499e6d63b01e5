# Part A: the exercise's algorithms on a pretrained model (DeepFloyd IF), on part B's
# class-conditioned UNet and on the deep dive's class models named in part_a.backends. Every file lies under results/part_a/<backend>/; the settings of
# each job come from diffusionlab.part_a.item_params.job_args.

from diffusionlab.part_a import item_params as part_a_params

PART_A = config["part_a"]
PART_A_EMBEDDINGS = part_a_params.path("deepfloyd", "prompt_embeddings.pt")
PART_A_DOWNLOADS = part_a_params.downloads(config)


wildcard_constraints:
    backend="|".join([*part_a_params.BACKENDS, *PART_A["backends"]]),
    k="[0-9]+",


rule part_a_embeddings:
    input:
        code=code_inputs("part_a_embeddings.py"),
    output:
        embeddings=PART_A_EMBEDDINGS,
    log:
        "logs/part_a/deepfloyd/embeddings.log",
    benchmark:
        "results/benchmarks/part_a_deepfloyd_embeddings.tsv"
    conda:
        CONDA_ENV
    threads: job_threads
    resources:
        gpu=GPU,
    params:
        model=PART_A["deepfloyd"]["stage_1"],
        prompts=part_a_params.prompts(PART_A["deepfloyd"]),
        device=config["device"],
    script:
        "../scripts/part_a_embeddings.py"


rule part_a_download:
    output:
        image=PART_A_DOWNLOAD,
    log:
        "logs/part_a/downloads/{download}.log",
    benchmark:
        "results/benchmarks/part_a_download_{download}.tsv"
    wildcard_constraints:
        download="[^/]+",
    conda:
        CONDA_ENV
    params:
        job="download",
        url=lambda w, output: PART_A_DOWNLOADS[output.image],
    script:
        "../scripts/part_a_inputs.py"


rule part_a_input:
    input:
        unpack(part_a_input_files),
        code=code_inputs("part_a_inputs.py"),
    output:
        image=part_a_params.input_path("{backend}", "{name}"),
    log:
        "logs/part_a/{backend}/input_{name}.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_input_{name}.tsv"
    conda:
        CONDA_ENV
    params:
        job="prepare",
        source=part_a_input_setting,
        shape=lambda w: part_a_params.INPUT_SHAPES.get(w.backend),
        dark_background=lambda w: w.backend == "mnist",
    script:
        "../scripts/part_a_inputs.py"


rule part_a_sampling:
    input:
        unpack(part_a_inputs("sampling")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "sampling.png"), "part_a_sampling"
        ),
        images=part_a_params.path("{backend}", "sampling.pt"),
    log:
        "logs/part_a/{backend}/sampling.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_sampling.tsv"
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="sampling",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("sampling"),
    script:
        "../scripts/part_a_items.py"


rule part_a_upsampling:
    input:
        unpack(part_a_inputs("sampling_upsampled")),
        stage_1=part_a_params.path("{backend}", "sampling.pt"),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "sampling_upsampled.png"),
            "part_a_upsampling",
        ),
    log:
        "logs/part_a/{backend}/upsampling.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_upsampling.tsv"
    wildcard_constraints:
        backend="deepfloyd",
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="upsampling",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("sampling_upsampled"),
    script:
        "../scripts/part_a_items.py"


rule part_a_forward:
    input:
        unpack(part_a_inputs("forward")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "forward.png"), "part_a_forward"
        ),
    log:
        "logs/part_a/{backend}/forward.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_forward.tsv"
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="forward",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("forward"),
    script:
        "../scripts/part_a_items.py"


rule part_a_denoising:
    input:
        unpack(part_a_inputs("denoising")),
        code=code_inputs("part_a_items.py"),
    output:
        blur=part_a_report(part_a_params.path("{backend}", "blur.png"), "part_a_blur"),
        one_step=part_a_report(
            part_a_params.path("{backend}", "one_step.png"), "part_a_one_step"
        ),
    log:
        "logs/part_a/{backend}/denoising.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_denoising.tsv"
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="denoising",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("denoising"),
    script:
        "../scripts/part_a_items.py"


rule part_a_iterative:
    input:
        unpack(part_a_inputs("iterative")),
        code=code_inputs("part_a_items.py"),
    output:
        strip=part_a_report(
            part_a_params.path("{backend}", "iterative.png"), "part_a_iterative"
        ),
        compare=part_a_report(
            part_a_params.path("{backend}", "iterative_compare.png"),
            "part_a_iterative_compare",
        ),
    log:
        "logs/part_a/{backend}/iterative.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_iterative.tsv"
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="iterative",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("iterative"),
    script:
        "../scripts/part_a_items.py"


rule part_a_samples:
    input:
        unpack(part_a_inputs("{kind}")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "{kind}.png"), "part_a_samples"
        ),
    log:
        "logs/part_a/{backend}/{kind}.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_{kind}.tsv"
    wildcard_constraints:
        kind="samples|cfg_samples",
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="samples",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("{kind}"),
    script:
        "../scripts/part_a_items.py"


rule part_a_edits:
    input:
        unpack(part_a_inputs("{edit}")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "{edit}.png"), "part_a_edits"
        ),
    log:
        "logs/part_a/{backend}/{edit}.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_{edit}.tsv"
    wildcard_constraints:
        edit="|".join(part_a_params.EDITS),
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="edits",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("{edit}"),
    script:
        "../scripts/part_a_items.py"


rule part_a_inpainting:
    input:
        unpack(part_a_inputs("inpainting_{k}")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "inpainting_{k}.png"),
            "part_a_inpainting",
        ),
    log:
        "logs/part_a/{backend}/inpainting_{k}.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_inpainting_{k}.tsv"
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job="inpainting",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("inpainting_{k}"),
    script:
        "../scripts/part_a_items.py"


rule part_a_illusion:
    input:
        unpack(part_a_inputs("{illusion}_{k}")),
        code=code_inputs("part_a_items.py"),
    output:
        figure=part_a_report(
            part_a_params.path("{backend}", "{illusion}_{k}.png"), "part_a_illusion"
        ),
        images=part_a_params.path("{backend}", "{illusion}_{k}.pt"),
    log:
        "logs/part_a/{backend}/{illusion}_{k}.log",
    benchmark:
        "results/benchmarks/part_a_{backend}_{illusion}_{k}.tsv"
    wildcard_constraints:
        illusion="|".join(part_a_params.ILLUSIONS),
    conda:
        CONDA_ENV
    threads: part_a_threads
    resources:
        gpu=GPU,
    params:
        job=lambda w: "hybrid" if w.illusion == "hybrid" else "anagram",
        backend=part_a_backend,
        device=config["device"],
        args=part_a_args("{illusion}_{k}"),
    script:
        "../scripts/part_a_items.py"


rule part_a:
    input:
        [f for b in PART_A["backends"] for f in part_a_params.figures(config, b)],
