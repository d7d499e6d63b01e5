"""Fun with Diffusion Models, as one workflow: part A, part B, evaluation and the write-up.

snakemake --cores 1 --resources gpu=1 report      # reference settings (config.yaml)
snakemake --cores all --configfile presets/laptop.yaml report   # CPU, offline
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from diffusionlab.config import ConfigError, validate
from diffusionlab.rule_params import check_config


configfile: os.path.join(workflow.basedir, "config.yaml")


try:
    validate(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
    check_config(config)
except ConfigError as err:
    sys.exit(str(err))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/part_b.smk"
include: "rules/part_a.smk"
include: "rules/evaluation.smk"
include: "rules/deep_dive.smk"
include: "rules/latent.smk"
# Last: the report looks up the outputs of every rule above.
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.report.output,
