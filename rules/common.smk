# Helpers shared by every rule module.

from diffusionlab.workflow import MODELS, checkpoint_epochs, train_settings

DATA = "results/data/mnist.pt"
DATA_META = "results/data/mnist.json"


def src(*modules):
    """Package modules a rule imports: Snakemake does not track imports, so declare them."""
    return [f"src/diffusionlab/{m}.py" for m in ("runtime",) + modules]


def checkpoint(model, epoch):
    return f"results/part_b/{model}/checkpoints/epoch{epoch}.pt"


def final_checkpoint(model):
    return checkpoint(model, config["part_b"][model]["epochs"])


def performance():
    return config["performance"]
