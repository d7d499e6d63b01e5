"""The deep dive (issue 11): its config, models trained from a spec on any image shape, the
figures (clamped pixels), memorisation and PSNR, and its rules scoped by data set."""

import copy
import html
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from workflow_runs import CI_PRESET, ROOT, snakemake

from diffusionlab.config import ConfigError, validate
from diffusionlab.deep_dive import runs
from diffusionlab.deep_dive.draw import draw, strip_steps
from diffusionlab.deep_dive.figures import class_rows, detailed_figure, sample_grid
from diffusionlab.deep_dive.metrics import (
    judge_frechet,
    memorisation,
    memorisation_table,
    nearest,
    psnr,
)
from diffusionlab.deep_dive.settling import coarse, settling
from diffusionlab.figures import animation
from diffusionlab.jobrunner import UserError
from diffusionlab.training import TrainSettings, load_checkpoint, read_checkpoint, train

SCHEMA = ROOT / "schemas" / "config.schema.yaml"
FASHION = Path("/usr/share/datasets/fashion-mnist")
NO_FASHION = "Debian's dataset-fashion-mnist is not installed (apt-get install it)"


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
        update(config, yaml.safe_load(Path(f).read_text()))
    return config


# -- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", [None, "laptop.yaml", "ci.yaml"])
def test_shipped_configs_are_valid(preset):
    config = merged(*([ROOT / "presets" / preset] if preset else []))
    validate(config, SCHEMA)
    runs.check(config)
    assert len(runs.runs(config)) >= 2


def test_reference_runs_the_write_ups_settings():
    config = merged()
    photo = config["datasets"]["photo"]
    assert (photo["source"], photo["size"]) == ("image", 64)
    assert config["deep_dive"]["models"]["photo"]["num_steps"] == 1000
    assert config["datasets"]["cifar10"]["source"] == "cifar10"
    assert config["deep_dive"]["models"]["cifar10"]["kind"] == "class"


@pytest.mark.parametrize("edit, key", [
    (lambda m: m.update(widths=[8, 16]), "deep_dive.models.fashion"),  # course with widths
    (lambda m: m.pop("guidance"), "deep_dive.models.fashion"),  # class model without guidance
    (lambda m: m.update(arch="unet3d"), "deep_dive.models.fashion.arch"),
])
def test_schema_names_the_bad_run_setting(edit, key):
    config = merged()
    edit(config["deep_dive"]["models"]["fashion"])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(config, SCHEMA)


@pytest.mark.parametrize("text, setting", [("auto", "auto"), ("off", "off"), ('"off"', "off")])
def test_the_fid_setting_reads_off_as_yaml_writes_it(text, setting):
    config = merged()
    config["deep_dive"]["fid"] = yaml.safe_load(f"fid: {text}")["fid"]  # a bare off is false
    validate(config, SCHEMA)
    assert runs.fid_setting(config) == setting


@pytest.mark.parametrize("value", ["sometimes", True, None])
def test_schema_names_a_bad_fid_setting(value):
    config = merged()
    config["deep_dive"]["fid"] = value
    with pytest.raises(ConfigError, match=r"deep_dive\.fid"):
        validate(config, SCHEMA)


def test_check_names_unknown_runs_and_late_epochs():
    config = merged()
    config["deep_dive"]["run"] = ["photo", "nowhere"]
    config["deep_dive"]["models"]["photo"]["sample_epochs"] = [5, 99]
    with pytest.raises(ConfigError) as err:
        runs.check(config)
    assert "'nowhere' is not a data set" in str(err.value)
    assert "deep_dive.models.photo.sample_epochs" in str(err.value)


def test_train_and_sampling_settings():
    config = merged()
    s = runs.train_settings(config, "cifar10")
    assert s["model"] == {"arch": "unet2d", "widths": [64, 128, 256]}
    assert s["hidden"] is None and s["p_uncond"] == 0.1 and "lr_decay_total" not in s
    assert s["checkpoint_epochs"] == [10, 25, 50]
    args = runs.sampling_settings(config, "photo")
    assert args["strip_every"] == 50 and args["num_samples"] == 16
    assert len(strip_steps(1000, args["strip_every"])) == 20
    assert runs.sampling_settings(config, "fashion")["samples_per_class"] == 4


def test_strip_steps_end_at_the_finished_sample():
    assert strip_steps(300, 15) == list(range(285, -1, -15))
    assert strip_steps(30, 2)[-1] == 0 and len(strip_steps(30, 2)) == 15


# -- models of any shape, trained and sampled --------------------------------------------------


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    """A class-conditioned course UNet trained 1 epoch on 3 classes of 3x16x16 images."""
    folder = tmp_path_factory.mktemp("colour")
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(24, 3, 16, 16, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(24) % 3
    s = TrainSettings(kind="class", hidden=4, epochs=1, batch_size=8, lr=1e-3, seed=1,
                      num_steps=10, checkpoint_epochs=(1,),
                      model={"arch": "course", "channels": 3, "image_size": 16,
                             "num_classes": 3})
    result = train(s, images, labels, folder, data_meta={"class_names": ["a", "b", "c"]},
                   progress=False)
    return s, result["checkpoints"][1]


def test_checkpoint_rebuilds_its_model_from_its_spec(colour_run):
    s, path = colour_run
    ck = read_checkpoint(path)
    assert ck["spec"] == s.spec() and ck["spec"]["channels"] == 3
    model = load_checkpoint(path)
    assert model(torch.rand(2, 3, 16, 16), torch.rand(2), torch.eye(3)[:2]).shape == (2, 3, 16, 16)


def test_a_checkpoint_with_a_bad_spec_is_named(colour_run, tmp_path):
    _, path = colour_run
    ck = read_checkpoint(path)
    ck["spec"] = {**ck["spec"], "image_size": 18}
    bad = tmp_path / "bad.pt"
    torch.save(ck, bad)
    with pytest.raises(UserError, match="bad.pt"):
        load_checkpoint(bad)


def test_draw_gives_class_rows_and_strips(colour_run):
    _, path = colour_run
    drawn = draw(path, seed=0, variance="beta", strip_every=3, strips=2, samples_per_class=2,
                 guidance=2.0)
    assert drawn["samples"].shape == (6, 3, 16, 16)
    assert drawn["classes"].tolist() == [0, 1, 2, 0, 1, 2]
    assert drawn["steps"].tolist() == [9, 6, 3, 0]
    assert drawn["frames"].shape == (4, 6, 3, 16, 16)
    # The last frame is the finished sample.
    assert torch.equal(drawn["frames"][-1], drawn["samples"])
    assert drawn["class_names"] == ["a", "b", "c"] and drawn["strips"] == 2


def test_the_judge_reads_colour_images_of_any_classes(tmp_path):
    from diffusionlab.evaluation.classifier import (
        load_classifier,
        predict,
        save_classifier,
        train_classifier,
    )

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(30) % 3
    # Each class a colour: red, green or blue images.
    images = torch.zeros(30, 3, 12, 12, dtype=torch.uint8)
    images[torch.arange(30), labels] = 200
    images += (torch.rand(images.shape, generator=g) * 40).to(torch.uint8)
    net = train_classifier(images, labels, epochs=15, batch_size=10, lr=1e-2, seed=0,
                           channels=(4, 8), features=8, num_classes=3)
    save_classifier(net, tmp_path / "judge.pt")
    judge = load_classifier(tmp_path / "judge.pt")
    assert (judge.in_channels, judge.image_size, judge.num_classes) == (3, 12, 3)
    assert torch.equal(predict(judge, images), labels)


def script(name):
    """A rule script as a module (its main functions), without Snakemake."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    """The jobs of one run of the ci preset's single image, at 8x8, called as the rules call
    them: data, training, samples of the last epoch, figures and metrics."""
    from diffusionlab.data import prepare, save_dataset

    folder = tmp_path_factory.mktemp("photo")
    config = merged(CI_PRESET)
    config["datasets"]["photo16"].update(size=8, length=32)
    save_dataset(prepare(config["datasets"]["photo16"], "photo16"), folder / "data.pt",
                 folder / "data.json")
    settings = runs.train_settings(config, "photo16")
    performance = {"precision": "fp32", "channels_last": False, "compile": False}
    script("deep_dive_train").main(
        "photo16", settings, performance, "cpu", 1, str(folder / "data.pt"), [],
        str(folder / "checkpoints"), folder / "losses.csv", folder / "training.json",
        folder / "resume")
    args = runs.sampling_settings(config, "photo16")
    script("deep_dive_sample").main(
        folder / "checkpoints", folder / "samples.png", folder / "sampling.gif",
        folder / "samples.pt", 2, "photo16", **{**args, "device": "cpu"})
    script("deep_dive_metrics").main(
        folder / "data.pt", folder / "samples.pt", folder / "memorisation.csv",
        folder / "metrics.json", folder / "nearest.png", 0.05, "photo16")
    return folder, settings


def test_a_run_of_the_jobs_writes_every_file(photo_run):
    folder, settings = photo_run
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == [
        f"epoch{e}.pt" for e in settings["checkpoint_epochs"]]
    assert not (folder / "resume").exists()  # the finished training dropped its state
    info = json.loads((folder / "training.json").read_text())
    assert info["spec"]["channels"] == 3 and info["spec"]["image_size"] == 8
    drawn = torch.load(folder / "samples.pt", weights_only=True)
    assert drawn["samples"].shape == (4, 3, 8, 8)
    assert drawn["frames"].shape[1] == 2  # the strips' samples only
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "held_out" not in metrics and metrics["psnr_mean"] < 100  # one image: PSNR instead
    assert metrics["fid"] is None and "no held-out images" in metrics["fid_reason"]
    for name in ("samples.png", "sampling.gif", "nearest.png"):
        assert Image.open(folder / name).size[0] > 20


def test_a_network_that_does_not_fit_the_images_is_named(photo_run, tmp_path):
    folder, settings = photo_run
    bad = {**settings, "model": {"arch": "unet2d", "widths": [8, 8, 8, 8, 8]}, "hidden": None}
    with pytest.raises(ConfigError, match=r"deep_dive\.models\.photo16.*3x8x8"):
        script("deep_dive_train").main(
            "photo16", bad, {"precision": "fp32", "channels_last": False, "compile": False},
            "cpu", 1, str(folder / "data.pt"), [], str(tmp_path / "ck"), tmp_path / "l.csv",
            tmp_path / "t.json", tmp_path / "resume")
    assert not (tmp_path / "ck").exists()


# -- figures -----------------------------------------------------------------------------------


def test_class_rows_group_samples_by_class():
    samples = torch.arange(6).float().reshape(6, 1, 1, 1)
    rows = class_rows(samples, torch.tensor([0, 1, 2, 0, 1, 2]), 3)
    assert [[float(x) for x in row] for row in rows] == [[0, 3], [1, 4], [2, 5]]


def test_figures_are_written(tmp_path):
    x = torch.rand(4, 3, 8, 8)
    sample_grid(x, tmp_path / "grid.png", title="t", classes=torch.tensor([0, 1, 0, 1]),
                class_names=["cat", "dog"])
    detailed_figure(torch.rand(5, 2, 3, 8, 8), [8, 6, 4, 2, 0], tmp_path / "strips.png", "t")
    for name in ("grid.png", "strips.png"):
        assert Image.open(tmp_path / name).size[0] > 100


def test_animation_clamps_colour_pixels(tmp_path):
    """Values beyond [0, 1] become 0 and 255, not colours wrapped around (the write-up's bug)."""
    frame = torch.zeros(1, 3, 4, 4)
    frame[0, 0] = 1.7  # red, far out of range
    frame[0, 1] = -0.8
    frame[0, 2] = 0.5
    animation([frame], tmp_path / "a.gif", columns=1, frame_ms=50, scale=1)
    rgb = np.asarray(Image.open(tmp_path / "a.gif").convert("RGB"))
    centre = rgb[2, 2]
    assert centre[0] == 255 and centre[1] == 0 and abs(int(centre[2]) - 128) <= 2


# -- metrics -----------------------------------------------------------------------------------


def test_nearest_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    refs, queries = torch.rand(50, 1, 5, 5, generator=g), torch.rand(7, 1, 5, 5, generator=g)
    d, i = nearest(queries, refs, batch_size=8)  # several batches
    full = torch.cdist(queries.flatten(1), refs.flatten(1))
    assert torch.equal(i, full.argmin(1))
    assert torch.allclose(d, full.min(1).values / 5)


def smooth_images(n, seed):
    """Blurry random images in [0, 1]: distinct pictures, not per-pixel noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 4, 4, generator=g)
    return torch.nn.functional.interpolate(coarse, size=16, mode="bilinear")


def check_memorisation(train, held_out, labels):
    g = torch.Generator().manual_seed(1)
    copies = train[:10] + 0.01 * torch.randn(train[:10].shape, generator=g)
    result = memorisation(copies, train, held_out[:10], threshold=0.05)
    s = result["summary"]
    assert s["sample_near_copies"] == 1.0 and s["held_out_near_copies"] == 0.0
    assert result["samples"][1].tolist() == list(range(10))
    table = memorisation_table(result, labels[:10], labels, labels, [str(k) for k in range(10)])
    assert table.groupby("image")["near_copy"].all().to_dict() == {"held-out": False,
                                                                   "sample": True}


def test_memorisation_flags_copies_not_held_out_images():
    train, held_out = smooth_images(300, 0), smooth_images(10, 1)
    check_memorisation(train, held_out, torch.arange(300) % 10)


@pytest.mark.skipif(not FASHION.is_dir(), reason=NO_FASHION)
def test_memorisation_on_fashion_mnist():
    from diffusionlab.data import as_float, prepare

    data = prepare({"source": "fashion-mnist", "train_size": 3000, "test_size": 10})
    check_memorisation(as_float(data.train_images), as_float(data.test_images),
                       data.train_labels)


def random_judge(in_channels=1, size=16, classes=10):
    """An untrained judge: its features tell images apart all the same."""
    from diffusionlab.evaluation.classifier import DigitClassifier

    torch.manual_seed(0)
    return DigitClassifier((4, 8), 16, classes, in_channels, size).eval()


def test_the_judges_frechet_distance_reaches_its_floor_on_training_images():
    judge, train, test = random_judge(), smooth_images(200, 0), smooth_images(100, 1)
    same = judge_frechet(judge, train[:40], train, test)
    assert (same["frechet_samples"], same["frechet_reference"]) == (40, 100)
    # The floor is the first 40 training images against the whole test split: these samples.
    assert same["frechet_distance"] == pytest.approx(same["frechet_floor"], rel=1e-9)
    new = judge_frechet(judge, smooth_images(40, 2), train, test)
    assert new["frechet_floor"] == same["frechet_floor"]
    assert new["frechet_distance"] < 3 * new["frechet_floor"]  # new images of the same kind
    dark = judge_frechet(judge, train[:40] * 0.3, train, test)
    assert dark["frechet_distance"] > 10 * dark["frechet_floor"]
    # More samples than training images: both at the training images' count.
    assert judge_frechet(judge, smooth_images(300, 3), train, test)["frechet_samples"] == 200
    assert judge_frechet(judge, train[:1], train, test) == {}  # no Gaussian fit of one image


@pytest.fixture
def labelled_set(tmp_path):
    """The files deep_dive_metrics reads for a class model on a labelled set: the data set,
    its judge and the guided samples (here darkened test images) of epoch 3."""
    from diffusionlab.data import save_dataset
    from diffusionlab.data.dataset import assemble
    from diffusionlab.evaluation.classifier import save_classifier

    def split(n, seed):
        return (smooth_images(n, seed) * 255).to(torch.uint8), torch.arange(n) % 2

    data = assemble(split(60, 0), split(30, 1), ["dark", "light"],
                    {"dataset": "folder", "source": "folder", "root": "test", "name": "toy"})
    save_dataset(data, tmp_path / "data.pt", tmp_path / "data.json")
    save_classifier(random_judge(classes=2), tmp_path / "judge.pt")
    (tmp_path / "judge.json").write_text(json.dumps({"test_accuracy": 0.5}))
    torch.save({"samples": smooth_images(20, 2) * 0.5, "classes": torch.arange(20) % 2,
                "epoch": 3}, tmp_path / "samples.pt")
    return tmp_path


def run_metrics(folder, fid):
    script("deep_dive_metrics").main(
        folder / "data.pt", folder / "samples.pt", folder / "memorisation.csv",
        folder / "metrics.json", folder / "nearest.png", 0.05, "toy", judge=folder / "judge.pt",
        judge_info=folder / "judge.json", fid=fid, device="cpu")
    return json.loads((folder / "metrics.json").read_text())


def test_metrics_without_inception_weights_record_the_reason(labelled_set, monkeypatch, capsys):
    from diffusionlab.evaluation import fid

    monkeypatch.setenv("TORCH_HOME", str(labelled_set / "torch"))
    monkeypatch.setattr(fid, "weights_url", lambda: "http://127.0.0.1:9/inception.pth")
    m = run_metrics(labelled_set, "auto")
    assert m["fid"] is None and m["fid_floor"] is None
    assert m["fid_reason"].startswith("Inception weights not available offline: ")
    assert f"no standard FID: {m['fid_reason']}" in capsys.readouterr().out
    # The judge's Frechet distance all the same: 20 samples, 20 training images, 30 test images.
    assert (m["frechet_samples"], m["frechet_reference"], m["judged_samples"]) == (20, 30, 20)
    assert m["frechet_distance"] > m["frechet_floor"] > 0
    assert run_metrics(labelled_set, "off")["fid_reason"] == "deep_dive.fid is off."


def test_metrics_with_a_feature_network_record_the_fid(labelled_set, monkeypatch):
    from torchmetrics.image.fid import FrechetInceptionDistance

    from diffusionlab.evaluation import fid

    def metric(device):  # 2x2 block means of RGB images stand in for Inception's features
        blocks = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten())
        return FrechetInceptionDistance(feature=blocks, normalize=True,
                                        reset_real_features=False).to(device), None

    monkeypatch.setattr(fid, "inception_metric", metric)
    m = run_metrics(labelled_set, "auto")
    assert m["fid_reason"] is None and m["fid_images"] == 20
    assert m["fid"] > 10 * m["fid_floor"] > 0  # darkened samples against real images


def test_psnr_clamps_and_measures():
    image = torch.full((3, 4, 4), 0.5)
    assert psnr(image[None] + 0.1, image).item() == pytest.approx(20.0, abs=1e-4)
    # A sample beyond the range is measured as its pixels: clamped to 1 (0.5 off, 6.02 dB).
    assert psnr(torch.full((1, 3, 4, 4), 3.0), image).item() == pytest.approx(6.0206, abs=1e-3)


def test_settling_measures_layout_and_detail_apart():
    """x_t whose block means reach the finished sample halfway and whose detail only at the end:
    the coarse share left falls to 0 by the middle frame, the detail's later."""
    g = torch.Generator().manual_seed(0)
    final = torch.rand(2, 3, 8, 8, generator=g)
    layout = coarse(final, 4)
    detail, offset = final - layout, torch.rand(2, 3, 2, 2, generator=g).repeat_interleave(
        4, -1).repeat_interleave(4, -2)
    frames = []
    for k in range(5):  # coarse offset gone at k = 2, detail gone at k = 4
        a, b = max(0.0, 1 - k / 2), 1 - k / 4
        frames.append(0.1 + 0.8 * (layout + a * (offset - layout) + (1 - b) * detail))
    table = settling(torch.stack(frames), [8, 6, 4, 2, 0])
    assert table["coarse_left"].tolist()[0] == pytest.approx(1.0)
    assert table["coarse_left"].tolist()[2:] == pytest.approx([0, 0, 0], abs=1e-6)
    assert table["detail_left"].tolist() == pytest.approx([1, 0.75, 0.5, 0.25, 0], abs=1e-5)


def test_settled_at_reads_the_first_step_that_stays_settled(tmp_path):
    from diffusionlab.site.deep_dive import settled_at

    path = tmp_path / "s.csv"
    path.write_text("t,coarse_left,detail_left\n9,1,1\n6,0.4,0.8\n3,0.2,0.3\n0,0,0\n")
    assert settled_at(path) == {"coarse": 6, "detail": 3}
    path.write_text("t,coarse_left,detail_left\n9,1,1\n6,0.4,0.8\n3,0.7,0.3\n0,0,0\n")
    assert settled_at(path) == {"coarse": 0, "detail": 3}  # the layout moves away again


# -- workflow ----------------------------------------------------------------------------------


def dry_run_jobs(tmp_path, *overlays):
    out = snakemake(tmp_path, "-n", "deep_dive", configfiles=overlays).stdout
    jobs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("deep_dive") and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    return jobs, out


def test_dry_run_lists_every_data_sets_jobs_and_a_new_entry_adds_jobs_only(tmp_path):
    jobs, out = dry_run_jobs(tmp_path)
    assert jobs["deep_dive_train"] == 2 and jobs["deep_dive_data"] == 2
    assert jobs["deep_dive_judge"] == 1  # the class model's set only
    for name in ("photo16", "fashion"):
        assert f"results/deep_dive/{name}/summary.png" in out
        assert f"results/deep_dive/{name}/memorisation.csv" in out
    ci = yaml.safe_load(CI_PRESET.read_text())
    model = copy.deepcopy(ci["deep_dive"]["models"]["photo16"])
    extra = tmp_path / "more.yaml"
    extra.write_text(yaml.safe_dump({
        "datasets": {"rocket": {"source": "image", "image": "skimage:rocket", "size": 8}},
        "deep_dive": {"run": ["photo16", "fashion", "rocket"], "models": {"rocket": model}}}))
    more, out = dry_run_jobs(tmp_path, extra)
    assert set(more) == set(jobs)  # no new rule
    assert more["deep_dive_train"] == 3 and more["deep_dive_sample"] == jobs["deep_dive_sample"] + 2
    assert "results/deep_dive/rocket/detailed_epoch2.png" in out


# -- the site ----------------------------------------------------------------------------------


def run_files(folder: Path, name: str, run: dict, meta: dict, metrics: dict) -> dict:
    """The files of one deep dive run as the rules write them, drawn from random images."""
    from diffusionlab.part_b import plot_losses
    from diffusionlab.site.deep_dive import FILE_KEYS

    folder.mkdir(parents=True)
    epochs = sorted(set(run["sample_epochs"]) | {run["epochs"]})
    x = torch.rand(4, *meta["image_shape"])
    files = {k: folder / f"{k}.json" for k in ("data_meta", "info", "metrics")}
    files["data_meta"].write_text(json.dumps(meta))
    spec = {"arch": "course", "kind": run["kind"], "channels": meta["channels"],
            "image_size": meta["image_shape"][1], "num_classes": 10 if run["kind"] == "class"
            else None, "hidden": run["hidden"]}
    files["info"].write_text(json.dumps({"spec": spec,
                                         "settings": {"checkpoint_epochs": epochs}}))
    files["metrics"].write_text(json.dumps(metrics))
    files["losses"] = folder / "losses.csv"
    files["losses"].write_text("epoch,step,loss\n1,0,0.9\n2,1,0.04\n2,2,0.02\n")
    files["loss"] = folder / "loss.png"
    plot_losses(files["losses"], files["loss"], "loss")
    files["memorisation"] = folder / "memorisation.csv"
    files["memorisation"].write_text("image,index,class,nearest_train,nearest_class,rms,"
                                     "near_copy\nsample,0,Bag,3,Bag,0.2,False\n")
    files["settling"] = folder / "settling.csv"
    files["settling"].write_text("t,coarse_rms,detail_rms,coarse_left,detail_left\n"
                                 "285,0.5,0.3,1,1\n150,0.02,0.2,0.04,0.6\n15,0.01,0.02,0.02,0.06"
                                 "\n0,0,0,0,0\n")
    for key in ("summary", "nearest"):
        files[key] = folder / f"{key}.png"
        sample_grid(x, files[key], title=key)
    files["samples"], files["animations"], files["detailed"] = [], [], []
    for e in epochs:
        files["samples"].append(folder / f"samples{e}.png")
        sample_grid(x, files["samples"][-1], title="s")
        files["detailed"].append(folder / f"detailed{e}.png")
        detailed_figure(x[None].repeat(3, 1, 1, 1, 1)[:, :2], [2, 1, 0], files["detailed"][-1],
                        "d")
        files["animations"].append(folder / f"anim{e}.gif")
        animation([x, x], files["animations"][-1], columns=2, frame_ms=50)
    assert set(files) == set(FILE_KEYS)
    return {f"deep_dive_{name}_{k}": v for k, v in files.items()}


def test_the_site_has_a_page_per_data_set(tmp_path):
    from diffusionlab.site import Manifest, Provenance, build_site
    from diffusionlab.site.deep_dive import deep_dive_parts

    config = merged(ROOT / "presets" / "laptop.yaml")
    runs_config = config["deep_dive"]["models"]
    meta = {"dataset": "fashion-mnist", "source": "debian", "root": "/usr/share", "train_count":
            4000, "test_count": 1000, "image_shape": [1, 28, 28], "channels": 1,
            "class_names": ["T-shirt/top", "Bag"], "fingerprint": "ab" * 32}
    files = run_files(tmp_path / "fashion", "fashion", runs_config["fashion"], meta, {
        "epoch": 8, "near_copy_rms": 0.05, "samples": 40, "sample_near_copies": 0.0,
        "sample_median_rms": 0.21, "held_out": 40, "held_out_near_copies": 0.0,
        "held_out_median_rms": 0.15, "judge_test_accuracy": 0.87, "class_accuracy": 0.725,
        "judged_samples": 40, "frechet_distance": 12.5, "frechet_floor": 2.5,
        "frechet_samples": 40, "frechet_reference": 1000, "fid": None, "fid_floor": None,
        "fid_images": 40, "fid_reason": "Inception weights not available offline: "
        "/home/{user}/w.pth is missing."})
    cat = {**meta, "dataset": "image", "source": "image", "root": "skimage:chelsea",
           "image_shape": [3, 32, 32], "channels": 3, "class_names": ["chelsea"]}
    files |= run_files(tmp_path / "cat", "cat", runs_config["cat"], cat, {
        "epoch": 12, "near_copy_rms": 0.05, "samples": 16, "sample_near_copies": 1.0,
        "sample_median_rms": 0.01, "psnr_mean": 31.5, "psnr_min": 25.0, "psnr_max": 35.0,
        "fid": None, "fid_reason": "deep_dive.fid is off."})
    parts = deep_dive_parts(files, config)
    assert [p.page_slug for p in parts] == ["deep-dive-cat", "deep-dive-fashion"]
    build_site(Manifest(parts), tmp_path / "site",
               Provenance(config=config, data_meta=meta, device="cpu", benchmarks=[]))
    fashion = html.unescape((tmp_path / "site" / "deep-dive-fashion.html").read_text())
    for text in ("What appears first while sampling?", "reads 72% of the 40 guided samples",
                 "4 per class with guidance γ = 5.0", "2 classes (T-shirt/top, Bag)",
                 "Reference: 0% of 40 held-out test images", "hidden width D = 32",
                 "t = 285 … 0, every 15 steps", "coarse layout left</th>",
                 "the coarse layout is halfway to its final state (at most 50% of its first "
                 "distance left) from t = 150 on, the detail from t = 15 on: the layout comes "
                 "first.", "closer to it than RMS 0.05 (a PSNR of 26 dB)",
                 "Fréchet distance in the judge's features of 40 guided samples to the 1000 "
                 "test images: 12.5; its floor, 40 training images to the same test images: 2.5 "
                 "(5.0 times the floor).", "The standard FID could not be computed: Inception "
                 "weights not available offline: /home/{user}/w.pth is missing."):
        assert text in fashion, text
    fidelity = fashion.split('id="s-fidelity"')[1].split('id="s-memorisation"')[0]
    assert "D.5" in fidelity and "reads 72%" in fidelity and "times the floor" in fidelity
    page = (tmp_path / "site" / "deep-dive-cat.html").read_text()
    assert "PSNR of the samples to the training image: 31.5 dB" in page
    assert "The standard FID was not computed: deep_dive.fid is off." in page
    assert "one class (chelsea)" in page and "held-out" not in page.split("D.6")[-1].split(
        "<table")[0]


def test_the_fidelity_notes_give_the_fid_and_its_floor():
    from diffusionlab.site.deep_dive import fidelity_notes

    (note,) = fidelity_notes({"fid": 150.25, "fid_floor": 40.5, "fid_images": 60,
                              "fid_reason": None})
    assert note.startswith("Standard FID (Inception-v3 pool features) of 60 samples to 60 test "
                           "images: 150.2; its floor, 60 training images to the same test "
                           "images: 40.5.")
    assert fidelity_notes({"samples": 4}) == []  # metrics written before the FID
