# Helpers shared by every rule module.

import os

from diffusionlab.workflow import MODELS, checkpoint_epochs, train_settings

DATA = "results/data/mnist.pt"
DATA_META = "results/data/mnist.json"


def src(*modules):
    """Package modules a rule imports: Snakemake does not track imports, so declare them."""
    package = os.path.join(workflow.basedir, "src", "diffusionlab")
    # Relative to the working directory, so `--directory elsewhere` still finds them.
    return [
        os.path.relpath(os.path.join(package, f"{m}.py"))
        for m in ("runtime",) + modules
    ]


def checkpoint(model, epoch):
    return f"results/part_b/{model}/checkpoints/epoch{epoch}.pt"


def final_checkpoint(model):
    return checkpoint(model, config["part_b"][model]["epochs"])


def performance():
    return config["performance"]
