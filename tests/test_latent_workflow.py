"""Latent diffusion in the workflow (issue 12): the `latent:` config, the rules the ci preset
schedules, the pixel-versus-latent measures, and the autoencoder job's divisor."""

import copy
import math

import pandas as pd
import pytest
import torch
import yaml
from workflow_runs import CI_PRESET, ROOT, snakemake

from diffusionlab.config import ConfigError, validate
from diffusionlab.latent import latent_multiple
from diffusionlab.latent_versus import (
    MEASURES,
    frechet_distances,
    job_seconds,
    parameter_count,
    speed,
    versus_table,
)

SCHEMA = ROOT / "schemas" / "config.schema.yaml"
LATENT_RULES = ("latent_autoencoder", "latent_autoencoder_loss", "latent_reconstruction",
                "latent_encode", "latent_train", "latent_loss", "latent_sample",
                "latent_summary", "latent_detailed", "latent_metrics", "latent_versus")


def merged(*files):
    """config.yaml with presets laid over it, as Snakemake merges --configfile files."""
    def update(base, extra):
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for f in files:
        update(config, yaml.safe_load(f.read_text()))
    return config


# -- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("preset", "name"), [(None, "cifar10"), ("laptop.yaml", "fashion"),
                                              ("ci.yaml", "fashion")])
def test_shipped_configs_run_a_latent_twin_of_a_deep_dive_run(preset, name):
    config = merged(*([ROOT / "presets" / preset] if preset else []))
    validate(config, SCHEMA)
    assert config["latent"]["run"] == [name]
    assert name in config["deep_dive"]["run"] and name in config["latent"]["models"]


@pytest.mark.parametrize(("edit", "key"), [
    (lambda m: m["training"].update(kl_weight=-1.0), "latent.models.fashion.training.kl_weight"),
    (lambda m: m["autoencoder"].update(depth=3), "latent.models.fashion.autoencoder"),
    (lambda m: m.pop("encode_batch_size"), "latent.models.fashion"),
    (lambda m: m["training"].update(reconstruction="l3"),
     "latent.models.fashion.training.reconstruction"),
])
def test_schema_names_the_bad_latent_setting(edit, key):
    config = merged(CI_PRESET)
    edit(config["latent"]["models"]["fashion"])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(config, SCHEMA)


def test_a_latent_run_without_a_pixel_twin_stops_with_one_line(tmp_path):
    extra = tmp_path / "bad.yaml"
    models = copy.deepcopy(yaml.safe_load(CI_PRESET.read_text())["latent"]["models"])
    extra.write_text(yaml.safe_dump({"latent": {"run": ["photo16", "cifar10"],
                                                "models": models}}))
    result = snakemake(tmp_path, "-n", "latent", configfiles=[extra], check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "latent.run" in line]
    assert len(lines) == 1
    assert "'cifar10' is not a run of deep_dive.run" in lines[0]
    assert "'photo16' has no settings under latent.models" in lines[0]
    assert "Traceback" not in result.stderr


# -- workflow ----------------------------------------------------------------------------------


def test_the_ci_preset_schedules_every_latent_job(tmp_path):
    out = snakemake(tmp_path, "-n", "latent").stdout
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    assert {rule for rule in jobs if rule.startswith("latent_")} == set(LATENT_RULES)
    assert jobs["latent_sample"] == jobs["latent_detailed"] == 2  # epochs 1 and 2
    # The pixel twin's jobs that the comparison reads run too, once each.
    assert jobs["deep_dive_train"] == jobs["deep_dive_judge"] == jobs["deep_dive_data"] == 1
    for file in ("autoencoder.pt", "latents.pt", "reconstructions.png", "samples_epoch2.png",
                 "sampling_epoch2.gif", "detailed_epoch1.png", "summary.png", "versus.csv"):
        assert f"results/latent/fashion/{file}" in out


def test_latent_epochs_override_the_twins_and_drop_later_sampled_epochs():
    from diffusionlab.deep_dive import runs

    config = merged(ROOT / "presets" / "laptop.yaml")
    twin = runs.run_settings(config, "fashion")
    config["latent"]["models"]["fashion"]["epochs"] = None
    assert runs.latent_run_settings(config, "fashion") == twin  # null: the same images seen
    config["latent"]["models"]["fashion"]["epochs"] = 24
    latent = runs.latent_run_settings(config, "fashion")
    assert latent["epochs"] == 24 and runs.sampled_epochs(latent) == [2, 8, 24]
    assert runs.train_settings(config, "fashion", latent=True)["epochs"] == 24
    assert runs.train_settings(config, "fashion")["epochs"] == twin["epochs"] == 8
    config["latent"]["models"]["fashion"]["epochs"] = 1
    assert runs.sampled_epochs(runs.latent_run_settings(config, "fashion")) == [1]


def test_a_longer_latent_run_is_compared_with_the_twins_last_epoch(tmp_path):
    config = tmp_path / "longer.yaml"
    config.write_text("latent: {models: {fashion: {epochs: 3}}}\n")
    # the ci preset: the twin trains 2 epochs
    out = snakemake(tmp_path, "-n", "latent", configfiles=[config]).stdout
    assert "results/latent/fashion/samples_epoch3.pt" in out
    assert "results/deep_dive/fashion/samples_epoch2.pt" in out  # the twin's last epoch
    assert "results/deep_dive/fashion/samples_epoch3.pt" not in out


# -- the autoencoder job -----------------------------------------------------------------------


@pytest.mark.parametrize(("model", "multiple"), [
    ({"arch": "course", "hidden": 8}, 4),
    ({"hidden": 8}, 4),
    ({"arch": "unet2d", "widths": [8, 16]}, 2),
    ({"arch": "unet2d", "widths": [8, 16, 32, 32]}, 8),
    ({"arch": "unet2d"}, 4),  # UNet2DModel's default widths: three levels
])
def test_the_latent_size_is_a_multiple_of_what_the_ddpm_halves(model, multiple):
    assert latent_multiple(model) == multiple


# -- pixel versus latent -----------------------------------------------------------------------


def test_job_seconds_reads_the_benchmark_wall_time(tmp_path):
    tsv = tmp_path / "job.tsv"
    tsv.write_text("s\th:m:s\tmax_rss\tmean_load\tcpu_time\n"
                   "12.5\t0:00:12\t800.1\t3.2\t10.0\n")
    assert job_seconds(tsv) == 12.5


def test_speed_and_parameter_count():
    assert speed(3000, 12.0) == 250.0 and speed(10, 0.0) == math.inf
    assert parameter_count(torch.nn.Linear(3, 2)) == 8


def test_versus_table_rows_follow_the_measures_and_divide_latent_by_pixel():
    pixel = {"space": "1×28×28", "ddpm_parameters": 1000, "train_images_per_s": 40.0,
             "class_accuracy": 0.5}
    latent = {"space": "4×8×8", "ddpm_parameters": 400, "train_images_per_s": 200.0,
              "class_accuracy": 0.0, "autoencoder_parameters": 90}
    table = versus_table(pixel, latent)
    order = list(MEASURES)
    assert list(table["key"]) == sorted(table["key"], key=order.index)
    rows = table.set_index("key")
    assert set(rows.index) == {"ddpm_parameters", "train_images_per_s", "class_accuracy",
                               "autoencoder_parameters"}  # not the space: a name, no number
    assert rows.loc["ddpm_parameters", "latent_over_pixel"] == pytest.approx(0.4)
    assert rows.loc["train_images_per_s", "latent_over_pixel"] == pytest.approx(5.0)
    assert rows.loc["class_accuracy", "latent_over_pixel"] == 0.0
    assert pd.isna(rows.loc["autoencoder_parameters", "pixel"])  # the pixel run has none
    assert pd.isna(rows.loc["autoencoder_parameters", "latent_over_pixel"])
    assert rows.loc["ddpm_parameters", "measure"] == MEASURES["ddpm_parameters"]
    assert table["pixel"].dtype.kind == "f"  # one type per column: the site rounds it


def test_frechet_distances_are_taken_at_equal_counts_against_the_test_images():
    g = torch.Generator().manual_seed(0)
    test = torch.rand(200, 1, 2, 2, generator=g)
    train = torch.rand(200, 1, 2, 2, generator=g)
    like_test = torch.rand(60, 1, 2, 2, generator=g)
    shifted = (torch.rand(30, 1, 2, 2, generator=g) * 0.2 + 0.8)
    seen = []

    def flat(x):
        seen.append(len(x))
        return x.flatten(1)

    fd = frechet_distances(flat, test, train, {"good": like_test, "bad": shifted})
    assert fd["samples"] == 30
    assert seen == [200, 30, 30, 30]  # the reference, both sample sets and the floor, at n
    assert fd["distances"]["good"] < 0.1 < fd["distances"]["bad"]
    assert fd["floor"] < 0.1


# -- the site's "Pixel versus latent" section ---------------------------------------------------


def versus_values():
    pixel = {"space": "1×28×28", "ddpm_parameters": 2000, "images_seen": 32000,
             "train_job_s": 800.0, "train_images_per_s": 40.0, "all_training_s": 800.0,
             "sample_s_per_image": 0.5, "class_accuracy": 0.9, "frechet_distance": 2.0,
             "frechet_floor": 0.5, "frechet_samples": 40, "sample_near_copies": 0.0,
             "sample_median_rms": 0.2}
    latent = {**pixel, "space": "4×8×8", "ddpm_parameters": 1200, "train_job_s": 160.0,
              "train_images_per_s": 200.0, "autoencoder_parameters": 300,
              "autoencoder_job_s": 60.0, "encode_job_s": 10.0, "all_training_s": 230.0,
              "sample_s_per_image": 0.1, "reconstruction_psnr_db": 21.5,
              "class_accuracy": 0.75, "frechet_distance": 3.0, "sample_near_copies": 0.025}
    return {"dataset": "fashion", "epochs": {"pixel": 8, "latent": 8}, "pixel": pixel,
            "latent": latent}


def latent_run_files(folder, name="fashion", epochs=(2, 8)):
    """The files of one latent run as the rules write them (figures of random images), under
    the report rule's input names."""
    import json

    from diffusionlab.deep_dive.figures import sample_grid
    from diffusionlab.figures import animation
    from diffusionlab.site.latent import FILE_KEYS, report_key

    folder.mkdir(parents=True, exist_ok=True)
    values = versus_values()
    x = torch.rand(4, 1, 28, 28)
    files = {k: folder / f"{k}.png" for k in FILE_KEYS}
    for key in ("samples", "animations", "detailed"):
        files[key] = [folder / f"{key}_{e}.{'gif' if key == 'animations' else 'png'}"
                      for e in epochs]
    for key in ("versus", "info", "latents_info", "reconstruction", "autoencoder_info"):
        files[key] = folder / f"{key}.json"
    files["versus_table"] = folder / "versus.csv"
    files["versus"].write_text(json.dumps(values))
    versus_table(values["pixel"], values["latent"]).to_csv(files["versus_table"], index=False)
    files["info"].write_text(json.dumps({"settings": {"checkpoint_epochs": list(epochs)}}))
    files["latents_info"].write_text(json.dumps({"latent_shape": [4, 8, 8], "scale": 1.3,
                                                 "autoencoder": {"block_out_channels": [8, 16]}}))
    files["reconstruction"].write_text(json.dumps({"psnr": 21.5, "mse": 0.007}))
    files["autoencoder_info"].write_text("{}")
    for path in [*files["samples"], *files["detailed"], files["summary"], files["nearest"],
                 files["reconstructions"], files["autoencoder_loss"], files["loss"]]:
        sample_grid(x, path, title="t")
    for path in files["animations"]:
        animation([x, x], path, columns=2, frame_ms=50)
    return files, {report_key(name, k): v for k, v in files.items()}


def test_the_latent_section_shows_the_twin_and_says_what_it_cost_and_bought(tmp_path):
    from diffusionlab.site.latent import latent_files, latent_section

    files, inputs = latent_run_files(tmp_path)
    section = latent_section(latent_files(inputs, "fashion"))
    assert section.not_run is None
    assert [f.kind for f in section.figures] == ["reconstructions", "autoencoder_loss", "samples",
                                                 "animation", "summary", "detailed", "nearest"]
    assert section.figures[2].src == files["samples"][-1]  # the last epoch's
    assert section.tables[0].src == files["versus_table"]
    text = " ".join(section.notes)
    for said in ("32,000 training images (8 epochs)", "200 images/s against 40", "230 s in all",
                 "0.10 s per sample against 0.50 s", "1,200 against 2,000, plus 300",
                 "21.5 dB", "75% of the latent", "90% of the pixel", "40 samples each: 3 latent, "
                 "2 pixel (floor: as many training images, 0.5", "2% of the latent"):
        assert said in text
    assert section.values["latent_shape"] == "4×8×8" and section.values["last_epoch"] == 8
    assert latent_files({}, "fashion") is None
    assert "latent.run" in latent_section(None).not_run


def test_a_run_with_a_latent_twin_has_the_section_on_its_page(tmp_path):
    from test_deep_dive import merged as merged_config
    from test_deep_dive import run_files

    from diffusionlab.site import Manifest, Provenance, build_site
    from diffusionlab.site.deep_dive import deep_dive_parts

    config = merged_config(ROOT / "presets" / "laptop.yaml")
    meta = {"dataset": "fashion-mnist", "source": "debian", "root": "/usr/share", "train_count":
            4000, "test_count": 1000, "image_shape": [1, 28, 28], "channels": 1,
            "class_names": ["T-shirt/top", "Bag"], "fingerprint": "ab" * 32}
    files = run_files(tmp_path / "fashion", "fashion", config["deep_dive"]["models"]["fashion"],
                      meta, {"epoch": 8, "near_copy_rms": 0.05, "samples": 40,
                             "sample_near_copies": 0.0, "sample_median_rms": 0.21})
    cat = {**meta, "dataset": "image", "image_shape": [3, 32, 32], "channels": 3,
           "class_names": ["chelsea"]}
    files |= run_files(tmp_path / "cat", "cat", config["deep_dive"]["models"]["cat"], cat,
                       {"epoch": 12, "near_copy_rms": 0.05, "samples": 16,
                        "sample_near_copies": 1.0, "sample_median_rms": 0.01})
    files |= latent_run_files(tmp_path / "latent")[1]
    build_site(Manifest(deep_dive_parts(files, config)), tmp_path / "site",
               Provenance(config=config, data_meta=meta, device="cpu", benchmarks=[]))
    fashion = (tmp_path / "site" / "deep-dive-fashion.html").read_text()
    section = fashion.split("Pixel versus latent")[-1]
    for text in ("200 images/s against 40", "latent / pixel</th>", "21.5 dB",
                 "Latents are scaled by 1.3", "widths 8, 16", "4×8×8 latents"):
        assert text in section, text
    cat_page = (tmp_path / "site" / "deep-dive-cat.html").read_text()
    assert "has no latent run" in cat_page.split("Pixel versus latent")[-1]


def test_sampling_figures_draw_both_spaces_alike_and_keep_the_strips_frames(tmp_path):
    from PIL import Image

    from diffusionlab.deep_dive.figures import sampling_figures

    classes = torch.tensor([0, 1, 2, 0, 1, 2])
    drawn = {"samples": torch.rand(6, 1, 8, 8), "frames": torch.rand(3, 6, 1, 8, 8),
             "steps": torch.tensor([20, 10, 0]), "classes": classes, "epoch": 4, "strips": 2,
             "class_names": ["a", "b", "c"]}
    kept = sampling_figures(drawn, tmp_path / "grid.png", tmp_path / "anim.gif", title="t",
                            frame_ms=40, guidance=2.0, samples_per_class=2,
                            what="decoded latent samples")
    assert "strips" not in kept and torch.equal(kept["frames"], drawn["frames"][:, :2])
    assert torch.equal(kept["samples"], drawn["samples"]) and kept["epoch"] == 4
    gif = Image.open(tmp_path / "anim.gif")
    assert gif.n_frames == 3
    assert gif.size[0] < gif.size[1]  # one column per drawn round of classes: 2 wide, 3 high
    assert (tmp_path / "grid.png").stat().st_size > 0
