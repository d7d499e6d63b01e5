"""No module imports a layer above it: the package's layers, read from the source (codedeps)."""

from pathlib import Path

import pytest

from diffusionlab.codedeps import ImportGraph

SRC = Path(__file__).resolve().parents[1] / "src"
# Lowest first; a module may import its own layer and those below. Names are the first part
# after `diffusionlab.`: a package's modules share its layer.
LAYERS = [
    {"jobrunner", "config", "runtime", "torchfiles", "batched", "measures", "codedeps", "figures",
     "schedule", "unet", "models", "data", "sampling"},
    {"training", "latent"},
    {"part_a", "part_b"},
    {"evaluation", "latent_versus"},
    {"deep_dive", "site", "rule_params"},
]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def top_name(path: Path) -> str:
    parts = path.relative_to(SRC / "diffusionlab").with_suffix("").parts
    return parts[0]


MODULES = sorted(p for p in (SRC / "diffusionlab").rglob("*.py") if p.name != "__init__.py"
                 or p.parent != SRC / "diffusionlab")


def test_every_module_has_a_layer():
    unplaced = {top_name(p) for p in MODULES} - RANK.keys()
    assert not unplaced, f"add {sorted(unplaced)} to a layer of LAYERS"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_layer_above_it(module, tmp_path):
    dotted = ".".join(module.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    script = tmp_path / "imports.py"
    script.write_text(f"import {dotted}\n")
    rank = RANK[top_name(module)]
    above = [str(p.relative_to(SRC)) for p in ImportGraph(SRC).script_modules(script)
             if p.parent != SRC / "diffusionlab" or p.name != "__init__.py"
             if RANK[top_name(p)] > rank]
    assert above == [], f"{dotted} (layer {rank}) reaches modules above it"
