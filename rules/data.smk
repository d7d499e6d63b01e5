rule data:
    input:
        code=src("data"),
    output:
        tensors=DATA,
        meta=DATA_META,
    params:
        data=config["data"],
    log:
        "logs/data.log",
    benchmark:
        "results/benchmarks/data.tsv"
    script:
        "../scripts/prepare_data.py"
