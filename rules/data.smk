rule data:
    input:
        files=mnist_files(config["data"]),
        code=code_inputs("prepare_data.py"),
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
        data=data_settings(config["data"]),
    script:
        "../scripts/prepare_data.py"
