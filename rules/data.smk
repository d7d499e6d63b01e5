rule data:
    input:
        code=src("data"),
    output:
        tensors=DATA,
        meta=DATA_META,
    log:
        "logs/data.log",
    benchmark:
        "results/benchmarks/data.tsv"
    conda:
        CONDA_ENV
    params:
        data=config["data"],
    script:
        "../scripts/prepare_data.py"
