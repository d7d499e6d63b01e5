"""The config schema: the reference config passes, mistakes are named by key."""

from pathlib import Path

import pytest
import yaml
from PIL import Image

from diffusionlab.config import ConfigError, validate
from diffusionlab.rule_params import (
    FRECHET_MIN_SAMPLES,
    check_config,
    checkpoint_epochs,
    gpu_slots,
    job_threads,
    split_sizes,
    train_settings,
)

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


@pytest.mark.parametrize("presets", [(), ("laptop.yaml",), ("ci.yaml",),
                                     ("laptop.yaml", "exercise-only.yaml"),
                                     ("ci.yaml", "exercise-only.yaml")])
def test_shipped_configs_are_valid(presets):
    config = merged(*presets)
    validate(config, SCHEMA)
    check_config(config)  # every cross-key check the workflow runs before it schedules a job


@pytest.mark.parametrize("change, message", [
    (lambda c: c["deep_dive"].update(run=["nowhere"]),
     "deep_dive.run: 'nowhere' is not a data set"),
    (lambda c: c["latent"].update(run=["nowhere"]),
     "latent.run: 'nowhere' is not a run of deep_dive.run"),
    (lambda c: c["part_a"].update(i_start=10_000),
     r"part_a.i_starts: start indices \[10000\] leave no step"),
])
def test_check_config_runs_the_deep_dive_latent_and_part_a_checks(change, message):
    config = merged()
    change(config)
    with pytest.raises(ConfigError, match=message):
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
    ("device", "setting", "cores", "threads", "gpu"),
    [
        ("cpu", "auto", 2, 1, 0),  # two one-thread jobs side by side
        ("cpu", "auto", 16, 8, 0),
        ("cpu", "auto", 1, 1, 0),
        ("cpu", 3, 16, 3, 0),
        ("cpu", 4, 2, 2, 0),  # never more than Snakemake was given
        ("auto", "auto", 16, 16, 1),  # jobs may hold the GPU: one at a time, every core
        ("cuda:1", 1, 8, 8, 1),
    ],
)
def test_jobs_share_the_cores_only_on_a_cpu(device, setting, cores, threads, gpu):
    config = merged()
    config["device"] = device
    config["performance"]["job_threads"] = setting
    validate(config, SCHEMA)
    assert job_threads(config, cores) == threads
    assert gpu_slots(config) == gpu


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["part_b"]["time"].update(epochs=-1), "part_b.time.epochs"),
        (lambda c: c["part_b"]["noising"].update(sigmas=[]), "part_b.noising.sigmas"),
        (lambda c: c["part_b"]["class"].update(lr="fast"), "part_b.class.lr"),
        (lambda c: c["data"].update(source="internet"), "data.source"),
        (lambda c: c.update(device="gpu"), "device"),
        (lambda c: c["part_b"]["denoiser"].update(hiden=3), "hiden"),
        (lambda c: c["performance"].update(job_threads=0), "performance.job_threads"),
        (lambda c: c["performance"].update(job_threads="all"), "performance.job_threads"),
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


@pytest.mark.parametrize(("data", "sizes"), [
    ({"source": "embedded", "train_size": None, "test_size": None, "embedded_test_size": 1000},
     {"train": 4000, "test": 1000}),
    ({"source": "embedded", "train_size": 500, "test_size": 200, "embedded_test_size": 1000},
     {"train": 500, "test": 200}),
    ({"source": "torchvision", "train_size": None, "test_size": None, "embedded_test_size": 10},
     {"train": 60000, "test": 10000}),
    ({"source": "folder", "train_size": None, "test_size": 300, "embedded_test_size": 10},
     {"train": None, "test": 300}),  # a folder copy's own size is known from its files only
])
def test_split_sizes_from_the_data_section(data, sizes):
    problems = []
    assert split_sizes(data, problems) == sizes
    assert problems == []


def test_image_sources_that_exist_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.new("L", (32, 32)).save(tmp_path / "my_digit.png")
    config = merged("ci.yaml")
    config["part_a"]["mnist"]["images"].update(
        mine="my_digit.png", last="mnist:199", photo="skimage:astronaut", drawn="drawn:0",
        web="https://example.org/a.png")
    validate(config, SCHEMA)
    check_config(config)
    config["part_a"]["mnist"]["images"]["last"] = "mnist:200"  # the test split holds 200
    with pytest.raises(ConfigError, match=r"part_a\.mnist\.images\.last: 'mnist:200'"):
        check_config(config)


def test_every_mistake_of_check_config_in_one_line():
    config = merged("ci.yaml")
    config["part_b"]["class"]["sample_epochs"] = [1, 5]
    config["evaluation"]["checkpoints"]["num_samples"] = 10
    with pytest.raises(ConfigError) as caught:
        check_config(config)
    message = str(caught.value)
    assert message.count("config key ") == 2 and "\n" not in message
    assert f"at least {FRECHET_MIN_SAMPLES}" in message
