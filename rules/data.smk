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
    params:
        data=config["data"],
    script:
        "../scripts/prepare_data.py"
