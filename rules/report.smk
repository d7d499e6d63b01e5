# The write-up: every figure of the other rule modules as a static site under report/, and the
# site packed for sharing (dist/report.zip) and for GitHub Pages (dist/gh-pages/).

import glob

SITE_CODE = src(
    *(
        f"site/{m}"
        for m in ("__init__", "catalogue", "files", "manifest", "maths")
        + ("provenance", "publish", "render", "tables")
    )
)
TEMPLATES = sorted(
    os.path.relpath(p)
    for p in glob.glob(
        os.path.join(workflow.basedir, "templates", "**", "*"), recursive=True
    )
    if os.path.isfile(p)
)

# Parts of the exercise the report does not show, with the reason the write-up gives.
if workflow.is_rule("part_a"):
    _report_part_a_reason = (
        "The report does not show part A's figures yet (its rules are not wired into "
        "rules/report.smk)."
    )
else:
    _report_part_a_reason = "This workflow has no rules for part A yet."
NOT_RUN = [
    {"part": "A", "backend": backend, "not_run": _report_part_a_reason}
    for backend in ("DeepFloyd IF", "MNIST class-conditioned UNet")
]
# The evaluation shows when rules/evaluation.smk is included before this module.
REPORT_EVALUATION = workflow.is_rule("evaluation")
if not REPORT_EVALUATION:
    NOT_RUN.append(
        {"part": "eval", "not_run": "This workflow has no evaluation rules yet."}
    )


# Part B's figures and tables by name (lists follow the epochs of the config), and the
# Snakemake benchmark files of every job behind them. Loop variables start with _report_ as
# every rule module shares one namespace.
_report_shown = {
    "denoiser": config["part_b"]["denoiser"]["figure_epochs"],
    "time": config["part_b"]["time"]["sample_epochs"],
    "class": config["part_b"]["class"]["sample_epochs"],
}
REPORT_FILES = {
    "noising": rules.noising_figure.output.out,
    "ood": rules.denoiser_ood.output.figure,
    "ood_metrics": rules.denoiser_ood.output.metrics,
    "data_meta": DATA_META,
    "denoiser_results": expand(
        rules.denoiser_results.output.out, epoch=_report_shown["denoiser"]
    ),
}
REPORT_BENCHMARKS = [
    rules.data.benchmark,
    rules.noising_figure.benchmark,
    rules.denoiser_ood.benchmark,
    *expand(rules.denoiser_results.benchmark, epoch=_report_shown["denoiser"]),
]
for _report_model in MODELS:
    _report_train = getattr(rules, f"train_{_report_model}")
    REPORT_FILES |= {
        f"{_report_model}_loss": rules.loss_curve.output.out.format(
            model=_report_model
        ),
        f"{_report_model}_losses": _report_train.output.losses,
        f"{_report_model}_info": _report_train.output.info,
    }
    REPORT_BENCHMARKS += [
        _report_train.benchmark,
        rules.loss_curve.benchmark.format(model=_report_model),
    ]
for _report_model in ("time", "class"):
    _report_jobs = {"model": _report_model, "epoch": _report_shown[_report_model]}
    REPORT_FILES |= {
        f"{_report_model}_samples": expand(rules.sample.output.grid, **_report_jobs),
        f"{_report_model}_animations": expand(rules.sample.output.gif, **_report_jobs),
    }
    REPORT_BENCHMARKS += expand(rules.sample.benchmark, **_report_jobs)

if REPORT_EVALUATION:
    REPORT_FILES |= {
        "classifier_info": rules.train_classifier.output.info,
        "denoising_table": rules.evaluate_denoiser.output.table,
        "denoising_figure": rules.evaluate_denoiser.output.figure,
        "guidance_table": rules.evaluate_guidance.output.table,
        "guidance_figure": rules.evaluate_guidance.output.figure,
    }
    REPORT_BENCHMARKS += [
        rules.train_classifier.benchmark,
        rules.evaluate_denoiser.benchmark,
        rules.evaluate_guidance.benchmark,
    ]
    for _report_model in config["evaluation"]["sampler_steps"]["models"]:
        _report_steps = rules.evaluate_sampler_steps
        REPORT_FILES |= {
            f"steps_{_report_model}_{name}": path.format(model=_report_model)
            for name, path in _report_steps.output.items()
        }
        REPORT_BENCHMARKS.append(_report_steps.benchmark.format(model=_report_model))


rule report:
    input:
        **REPORT_FILES,
        benchmarks=[str(f) for f in REPORT_BENCHMARKS],
        templates=TEMPLATES,
        code=SITE_CODE,
    output:
        site=directory("report"),
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    params:
        job="render",
        args={
            "config": config,
            "not_run": NOT_RUN,
            "templates": os.path.relpath(os.path.join(workflow.basedir, "templates")),
            "repo": workflow.basedir,
        },
    script:
        "../scripts/report.py"


rule publish:
    input:
        site=rules.report.output.site,
        code=SITE_CODE,
    output:
        archive="dist/report.zip",
        pages=directory("dist/gh-pages"),
    log:
        "logs/publish.log",
    params:
        job="publish",
        args={},
    script:
        "../scripts/report.py"
