"""Rule evaluation_targets: the evaluation's targets beside what this run reached."""

import json

import pandas as pd

from diffusionlab.evaluation.targets import targets_table
from diffusionlab.jobs import named, run_job


def main(classifier_info: str, time_losses: str, class_quality: str, table: str,
         guidance: float, illusions: str | None = None) -> None:
    with open(classifier_info) as f:
        accuracy = json.load(f)["test_accuracy"]
    result = targets_table(accuracy, pd.read_csv(time_losses), pd.read_csv(class_quality),
                           guidance, None if illusions is None else pd.read_csv(illusions))
    result.to_csv(table, index=False, float_format="%.6g")
    print(result.to_string(index=False))


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], **named(sm.input), **named(sm.output), **sm.params.args)
