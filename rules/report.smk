# The write-up: every figure of the other rule modules as a static site under report/, and the
# site packed for sharing (dist/report.zip) and for GitHub Pages (dist/gh-pages/). Snakemake's
# own report (snakemake --report report.zip) collects the same figures, flagged in each rule.

import glob

from diffusionlab.site.deep_dive import report_key as deep_dive_report_key
from diffusionlab.site.latent import report_key as latent_report_key


report: "../workflow-report/workflow.rst"


SITE_CODE = code_inputs("report.py")
TEMPLATES = sorted(
    os.path.relpath(p)
    for p in glob.glob(
        os.path.join(workflow.basedir, "templates", "**", "*"), recursive=True
    )
    if os.path.isfile(p)
)

# The evaluation shows when rules/evaluation.smk is included before this module.
REPORT_EVALUATION = workflow.is_rule("evaluation")
NOT_RUN = (
    []
    if REPORT_EVALUATION
    else [{"part": "eval", "not_run": "This workflow has no evaluation rules yet."}]
)


# Part B's figures and tables by name (lists follow the epochs of the config). Loop variables
# start with _report_ as every rule module shares one namespace.
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
for _report_model in MODELS:
    _report_train = getattr(rules, f"train_{_report_model}")
    REPORT_FILES |= {
        f"{_report_model}_loss": rules.loss_curve.output.out.format(
            model=_report_model
        ),
        f"{_report_model}_losses": _report_train.output.losses,
        f"{_report_model}_info": _report_train.output.info,
    }
for _report_model in ("time", "class"):
    _report_jobs = {"model": _report_model, "epoch": _report_shown[_report_model]}
    REPORT_FILES |= {
        f"{_report_model}_samples": expand(rules.sample.output.grid, **_report_jobs),
        f"{_report_model}_animations": expand(rules.sample.output.gif, **_report_jobs),
    }

# Part A: the figures of every backend in part_a.backends, in the order of the exercise.
for _report_backend in PART_A["backends"]:
    REPORT_FILES[f"part_a_{_report_backend}"] = part_a_shown(_report_backend)

# The deep dive: every file of each run of deep_dive.run (rules/deep_dive.smk), one page each.
for _report_name in DEEP_DIVE:
    REPORT_FILES |= {
        deep_dive_report_key(_report_name, _report_key): _report_path
        for _report_key, _report_path in deep_dive_files(_report_name).items()
    }
# Their latent twins (rules/latent.smk): a section of the run's page.
for _report_name in LATENT:
    REPORT_FILES |= {
        latent_report_key(_report_name, _report_key): _report_path
        for _report_key, _report_path in latent_files(_report_name).items()
    }

if REPORT_EVALUATION:
    REPORT_FILES |= {
        "classifier_info": rules.train_classifier.output.info,
        "denoising_table": rules.evaluate_denoiser.output.table,
        "denoising_figure": rules.evaluate_denoiser.output.figure,
        "guidance_table": rules.evaluate_guidance.output.table,
        "guidance_figure": rules.evaluate_guidance.output.figure,
        "targets": rules.evaluation_targets.output.table,
    }
    for _report_model in ("time", "class"):
        REPORT_FILES[f"checkpoints_{_report_model}"] = (
            rules.evaluate_checkpoints.output.table.format(model=_report_model)
        )
    for _report_model in config["evaluation"]["sampler_steps"]["models"]:
        REPORT_FILES |= {
            f"steps_{_report_model}_{name}": path.format(model=_report_model)
            for name, path in rules.evaluate_sampler_steps.output.items()
        }
    # Part A's metrics (empty without the MNIST backend), shown beside the figures they judge.
    REPORT_FILES |= EVAL_PART_A_FILES

# The provenance table: Snakemake's benchmark file of every job behind the write-up, from the
# data to the last figure.
REPORT_BENCHMARKS = benchmarks_of(
    [
        *REPORT_FILES.values(),
        *(part_a_upstream(b) for b in PART_A["backends"]),
    ]
)


rule report:
    input:
        **REPORT_FILES,
        benchmarks=REPORT_BENCHMARKS,
        templates=TEMPLATES,
        code=SITE_CODE,
    output:
        site=report(
            directory("report"),
            htmlindex="index.html",
            caption="../workflow-report/captions/site.rst",
            category="Write-up",
        ),
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        CONDA_ENV
    params:
        job="render",
        args={
            "config": config,
            "not_run": NOT_RUN,
            "templates": os.path.relpath(os.path.join(workflow.basedir, "templates")),
            "repo": os.path.relpath(workflow.basedir),
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
    conda:
        CONDA_ENV
    params:
        job="publish",
        args={},
    script:
        "../scripts/report.py"
