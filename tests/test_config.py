"""The config schema: the reference config passes, mistakes are named by key."""

from pathlib import Path

import pytest
import yaml

from diffusionlab.config import ConfigError, validate
from diffusionlab.workflow import check_config, checkpoint_epochs, train_settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def merged(*overlays):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())

    def merge(a, b):
        for k, v in b.items():
            a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) else v
        return a

    for name in overlays:
        merge(config, yaml.safe_load((ROOT / "presets" / name).read_text()))
    return config


@pytest.mark.parametrize("presets", [(), ("laptop.yaml",), ("ci.yaml",)])
def test_shipped_configs_are_valid(presets):
    config = merged(*presets)
    validate(config, SCHEMA)
    check_config(config)


def test_reference_settings_reach_the_jobs():
    config = merged()
    s = train_settings(config, "class")
    assert (s["hidden"], s["batch_size"], s["epochs"], s["lr"], s["p_uncond"]) == (
        64, 128, 20, 1e-3, 0.1)
    assert (s["num_steps"], s["beta_start"], s["beta_end"]) == (300, 1e-4, 0.02)
    d = train_settings(config, "denoiser")
    assert (d["hidden"], d["batch_size"], d["epochs"], d["lr"], d["sigma"]) == (
        128, 256, 5, 1e-4, 0.5)
    assert checkpoint_epochs(config["part_b"], "time") == [5, 20]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["part_b"]["time"].update(epochs=-1), "part_b.time.epochs"),
        (lambda c: c["part_b"]["noising"].update(sigmas=[]), "part_b.noising.sigmas"),
        (lambda c: c["part_b"]["class"].update(lr="fast"), "part_b.class.lr"),
        (lambda c: c["data"].update(source="internet"), "data.source"),
        (lambda c: c.update(device="gpu"), "device"),
        (lambda c: c["part_b"]["denoiser"].update(hiden=3), "hiden"),
    ],
)
def test_mistakes_name_the_key(change, key):
    config = merged()
    change(config)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(config, SCHEMA)


def test_sample_epoch_after_the_last_epoch_is_refused():
    config = merged()
    config["part_b"]["class"]["sample_epochs"] = [5, 25]
    validate(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"part_b\.class\.sample_epochs.*\[25\]"):
        check_config(config)
