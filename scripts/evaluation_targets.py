"""Rule evaluation_targets: the evaluation's targets beside what this run reached."""

import json

import pandas as pd

from diffusionlab.evaluation.targets import targets_table
from diffusionlab.jobrunner import named, run_job


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def main(classifier_info: str, time_losses: str, time_samples: str, time_drawn: str,
         class_samples: str, class_drawn: str, table: str, illusions: str | None = None) -> None:
    result = targets_table(
        read_json(classifier_info), pd.read_csv(time_losses),
        pd.read_csv(time_samples), read_json(time_drawn),
        pd.read_csv(class_samples), read_json(class_drawn),
        None if illusions is None else pd.read_csv(illusions))
    result.to_csv(table, index=False, float_format="%.6g")
    print(result.to_string(index=False))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], **named(sm.input), **named(sm.output))
