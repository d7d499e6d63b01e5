"""Latent diffusion's library layer: the autoencoder trains, resumes bit-exactly and rebuilds
from its checkpoint; 28x28 images pad and crop exactly; cached latents are scaled to unit std;
decoding gives images of the data set's shape in [0, 1]; a DDPM step runs on the latents."""

import json
import math

import pytest
import torch

from diffusionlab import latent, training
from diffusionlab.config import ConfigError
from diffusionlab.data import Dataset, as_float
from diffusionlab.jobrunner import UserError
from diffusionlab.latent import (
    AutoencoderSettings,
    autoencoder_spec,
    build_autoencoder,
    crop,
    decode_frames,
    decode_latents,
    encode_dataset,
    latent_data_meta,
    latent_model_options,
    latent_shape,
    load_autoencoder,
    load_latents,
    pad,
    padded_size,
    reconstruction_metrics,
    save_latents,
    scaled_latents,
    train_autoencoder,
)
from diffusionlab.models import sample_shape
from diffusionlab.torchfiles import atomic_save
from diffusionlab.training import TrainSettings, new_model, train_step

TINY = dict(channels=1, image_size=28, block_out_channels=[4, 8, 8], latent_channels=2,
            norm_groups=4)


def blobs(n: int, channels: int = 1, size: int = 28, seed: int = 0) -> torch.Tensor:
    """uint8 images of one bright Gaussian blob each: learnable structure on a dark ground."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g) * (size - 12) + 6
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    d2 = (yy - centre[:, :1, None]) ** 2 + (xx - centre[:, 1:, None]) ** 2
    image = torch.exp(-d2 / 18)[:, None].expand(n, channels, size, size)
    return (image * 255).round().to(torch.uint8).contiguous()


def settings(**kw):
    return AutoencoderSettings(**{**dict(epochs=3, batch_size=8, lr=1e-2, seed=1), **kw})


@pytest.fixture(scope="module")
def images():
    return blobs(24)


@pytest.fixture(scope="module")
def dataset(images):
    meta = {"dataset": "blobs", "class_names": ["a", "b", "c"]}
    return Dataset(images, torch.arange(24) % 3, blobs(8, seed=1), torch.arange(8) % 3, meta)


@pytest.fixture(scope="module")
def trained(images, tmp_path_factory):
    return train_autoencoder(settings(), TINY, images, tmp_path_factory.mktemp("ae"),
                             progress=False)


@pytest.fixture(scope="module")
def autoencoder(trained):
    return load_autoencoder(trained["checkpoint"])


def test_a_few_training_steps_lower_the_loss(trained):
    by_epoch = {}
    for epoch, _, loss in trained["losses"]:
        by_epoch.setdefault(epoch, []).append(loss)
    assert sorted(by_epoch) == [1, 2, 3] and all(len(v) == 3 for v in by_epoch.values())
    first, last = trained["losses"][0][2], sum(by_epoch[3]) / 3
    assert last < 0.5 * first


def test_the_kl_weight_and_reconstruction_loss_are_used(images, tmp_path):
    base = train_autoencoder(settings(epochs=1), TINY, images, tmp_path / "a", progress=False)
    for change in (dict(kl_weight=1.0), dict(reconstruction="l1")):
        other = train_autoencoder(settings(epochs=1, **change), TINY, images,
                                  tmp_path / str(change), progress=False)
        assert other["losses"][0][2] != base["losses"][0][2], change


def test_padding_and_cropping_round_trip_28x28():
    x = torch.rand(3, 2, 28, 28)
    padded = pad(x, 32)
    assert padded.shape == (3, 2, 32, 32)
    assert torch.equal(crop(padded, 28, 28), x)
    border = padded.clone()
    border[..., 2:30, 2:30] = 0
    assert torch.count_nonzero(border) == 0  # zeros (background) around the centred image
    assert torch.equal(crop(pad(x, 31), 28, 28), x)  # odd margins too


@pytest.mark.parametrize(("size", "widths", "padded", "latent"), [
    (28, [4, 8, 8], 32, 8),  # x4: 28 -> 32 -> 8x8, divisible by 4 for the course UNet
    (28, [4, 8], 32, 16),  # x2: the latent 14 would not halve twice
    (28, [4], 28, 28),  # x1: no padding needed
    (32, [4, 8, 8], 32, 8),
    (64, [4, 8, 8, 8], 64, 8),
])
def test_padded_size_is_the_smallest_that_factor_and_unet_divide(size, widths, padded, latent):
    spec = autoencoder_spec(channels=3, image_size=size, block_out_channels=widths,
                            norm_groups=4)
    assert padded_size(spec) == padded
    assert latent_shape(spec) == (spec["latent_channels"], latent, latent)
    z = build_autoencoder(spec).posterior(torch.rand(2, 3, size, size)).mean
    assert z.shape == (2, *latent_shape(spec))


def test_the_checkpoint_alone_rebuilds_the_autoencoder(trained, images, tmp_path):
    path = tmp_path / "ae.pt"
    atomic_save(trained["checkpoint"], path)
    model = load_autoencoder(path)
    assert model.spec == autoencoder_spec(**TINY)
    fresh = build_autoencoder(TINY)
    x = as_float(images[:4])
    with torch.no_grad():
        out = model.decode(model.posterior(x).mean)
        again = load_autoencoder(path).decode(model.posterior(x).mean)
        untrained = fresh.decode(fresh.posterior(x).mean)
    assert torch.equal(out, again)
    assert not torch.allclose(out, untrained)
    assert (out - x).square().mean() < (untrained - x).square().mean()


class Crash(Exception):
    pass


def test_resume_after_an_interrupted_training_is_bit_exact(images, tmp_path, capsys):
    s = settings(checkpoint_epochs=(1, 3))
    clean = train_autoencoder(s, TINY, images, tmp_path / "clean", progress=False)

    def crash(epoch):
        if epoch == 2:
            raise Crash

    with pytest.raises(Crash):
        train_autoencoder(s, TINY, images, tmp_path / "run", progress=False, after_epoch=crash)
    capsys.readouterr()
    resumed = train_autoencoder(s, TINY, images, tmp_path / "run", progress=False)
    assert "resuming autoencoder training after epoch 2" in capsys.readouterr().out
    assert resumed["losses"] == clean["losses"]
    for name, weight in clean["checkpoint"]["autoencoder"].items():
        assert torch.equal(resumed["checkpoint"]["autoencoder"][name], weight), name
    for epoch in (1, 3):
        a = torch.load(clean["checkpoints"][epoch], weights_only=True)["autoencoder"]
        b = torch.load(resumed["checkpoints"][epoch], weights_only=True)["autoencoder"]
        assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("change", ["settings", "spec", "images", "meta", "code"])
def test_other_settings_spec_images_or_code_do_not_resume(images, tmp_path, capsys, change):
    def crash(epoch):
        raise Crash

    with pytest.raises(Crash):
        train_autoencoder(settings(), TINY, images, tmp_path, progress=False, after_epoch=crash)
    capsys.readouterr()
    args = {"settings": (settings(kl_weight=0.5), TINY, images),
            "spec": (settings(), {**TINY, "norm_groups": 2}, images),  # same weight shapes
            "images": (settings(), TINY, 255 - images)}.get(change, (settings(), TINY, images))
    train_autoencoder(*args, tmp_path, progress=False, data_meta={"n": 1} if change == "meta"
                      else None, code="other" if change == "code" else "")
    assert "resuming" not in capsys.readouterr().out


def test_cached_latents_times_the_scale_have_unit_std(autoencoder, dataset, tmp_path):
    cache = encode_dataset(autoencoder, dataset, batch_size=5)
    path = tmp_path / "latents.pt"
    save_latents(cache, path)
    cache = load_latents(path)
    assert cache["train_latents"].shape == (24, 2, 8, 8)
    assert cache["test_latents"].shape == (8, 2, 8, 8)
    assert abs(float(cache["train_latents"].std()) - 1) > 0.05  # the scale has work to do
    z, labels = scaled_latents(cache)
    assert abs(float(z.std()) - 1) < 1e-5
    with torch.no_grad():
        q = autoencoder.posterior(as_float(dataset.train_images))
    assert cache["meta"]["posterior_std"] == pytest.approx(float(q.std.mean()) * cache["scale"],
                                                           rel=1e-4)
    assert torch.equal(labels, dataset.train_labels)
    # the posterior mean: encoding is deterministic, in any batch size (up to rounding)
    again = encode_dataset(autoencoder, dataset, batch_size=24)["train_latents"]
    assert torch.allclose(again, cache["train_latents"], atol=1e-5)


def test_decoding_gives_images_of_the_data_sets_shape_and_range(autoencoder, dataset):
    cache = encode_dataset(autoencoder, dataset)
    z, _ = scaled_latents(cache, "test")
    images = decode_latents(z * 3, autoencoder, cache["scale"], batch_size=3)  # out of range
    assert images.shape == (8, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert images.min() == 0 or images.max() == 1  # clamped, not squashed
    # decoding the scaled latents reads latents / scale: the autoencoder's own reconstruction
    with torch.no_grad():
        direct = autoencoder.decode(cache["test_latents"]).clamp(0, 1)
    assert torch.allclose(decode_latents(z, autoencoder, cache["scale"]), direct, atol=1e-5)
    frames = decode_frames([z[:2], z[2:4]], autoencoder, cache["scale"])
    assert [f.shape for f in frames] == [(2, 1, 28, 28)] * 2


def test_colour_images_decode_to_their_shape_without_padding():
    spec = autoencoder_spec(channels=3, image_size=32, block_out_channels=[4, 8, 8],
                            norm_groups=4)
    model = build_autoencoder(spec)
    images = decode_latents(torch.randn(2, *latent_shape(spec)), model, 0.5)
    assert images.shape == (2, 3, 32, 32) and 0 <= images.min() <= images.max() <= 1


def test_encode_decode_psnr_is_computed_and_finite(autoencoder, dataset):
    metrics = reconstruction_metrics(autoencoder, dataset.test_images, batch_size=3)
    with torch.no_grad():
        x = as_float(dataset.test_images)
        y = autoencoder.decode(autoencoder.posterior(x).mean).clamp(0, 1)
    mse = float((y - x).square().mean())
    assert metrics["images"] == 8
    assert metrics["mse"] == pytest.approx(mse, rel=1e-5)
    assert math.isfinite(metrics["psnr"]) and metrics["psnr"] > 10
    assert metrics["psnr"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-5)


@pytest.mark.parametrize("options", [{}, dict(arch="unet2d", widths=[8, 16], norm_groups=4)])
def test_the_training_code_builds_and_steps_a_latent_ddpm(autoencoder, dataset, options):
    cache = encode_dataset(autoencoder, dataset)
    s = TrainSettings(kind="class", hidden=4 if not options else None, epochs=1, batch_size=8,
                      lr=1e-3, seed=0, num_steps=10, model=latent_model_options(cache, **options))
    assert sample_shape(s.spec()) == (2, 8, 8) and s.spec()["num_classes"] == 3
    model = new_model(s)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    z, labels = scaled_latents(cache)
    g = torch.Generator().manual_seed(0)
    loss = train_step(model, opt, s, z[:8], labels[:8], g, s.schedule())
    assert math.isfinite(float(loss)) and float(loss) > 0
    meta = json.loads(json.dumps(latent_data_meta(cache)))  # plain data for keys and files
    assert meta["class_names"] == ["a", "b", "c"] and meta["latent"]["latent_shape"] == [2, 8, 8]
    assert meta["latent"]["scale"] == cache["scale"]
    assert meta["latent"]["autoencoder"] == autoencoder.spec


def test_training_train_takes_the_scaled_latents_as_they_are(autoencoder, dataset, tmp_path,
                                                             monkeypatch):
    cache = encode_dataset(autoencoder, dataset)
    z, labels = scaled_latents(cache)
    given = z.clone()
    seen = []
    real = training.batch_loss

    def recording(model, s, x, *args):
        seen.append(x.detach().clone())
        return real(model, s, x, *args)

    monkeypatch.setattr(training, "batch_loss", recording)
    s = TrainSettings(kind="time", hidden=4, epochs=1, batch_size=24, lr=1e-3, seed=0,
                      num_steps=10, model=latent_model_options(cache))
    training.train(s, z, labels, tmp_path, progress=False)
    assert torch.equal(z, given)  # the caller's latents are untouched
    assert torch.equal(torch.sort(seen[0].flatten()).values, torch.sort(z.flatten()).values)


@pytest.mark.parametrize(("change", "key"), [
    (dict(norm_groups=3), "norm_groups"),
    (dict(block_out_channels=[]), "block_out_channels"),
    (dict(latent_channels=0), "latent_channels"),
    (dict(depth=2), "depth"),
])
def test_bad_autoencoder_specs_name_the_key(change, key, images, tmp_path):
    with pytest.raises(ConfigError, match=key):
        build_autoencoder({**TINY, **change})
    with pytest.raises(ConfigError, match=key):
        train_autoencoder(settings(), {**TINY, **change}, images, tmp_path, progress=False)
    assert not (tmp_path / "state.pt").exists()


def test_bad_settings_and_mismatched_images_are_refused(images, tmp_path):
    with pytest.raises(ConfigError, match="reconstruction"):
        settings(reconstruction="l3")
    with pytest.raises(ConfigError, match="kl_weight"):
        settings(kl_weight=-1.0)
    with pytest.raises(ConfigError, match="image_size"):
        train_autoencoder(settings(), {**TINY, "image_size": 32}, images, tmp_path,
                          progress=False)


def test_a_corrupt_checkpoint_or_cache_names_its_file(tmp_path):
    path = tmp_path / "ae.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=str(path)):
        load_autoencoder(path)
    torch.save({"model": {}}, path)
    with pytest.raises(UserError, match="not a latent cache"):
        latent.load_latents(path)


def test_the_latent_benchmark_measures_both_spaces(tmp_path, capsys):
    from benchmarks import latent_throughput

    out = tmp_path / "latent.md"
    latent_throughput.main(["--devices", "cpu", "--steps", "1", "--batch-size", "4",
                            "--hidden", "4", "--ae-widths", "4", "8", "8", "--num-steps", "2",
                            "--samples", "10", "--markdown", str(out)])
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in out.read_text().splitlines() if line.startswith("| ")][2:]
    assert [row[1] for row in rows] == ["1x28x28 (padded 32x32)", "1x28x28", "4x8x8"]
    assert all(float(row[4]) > 0 for row in rows)  # training images/s
    assert all(float(row[5]) > 0 for row in rows[1:])  # sampling seconds per image


def test_training_inputs_read_uint8_as_unit_range_and_floats_as_they_are():
    pixels = torch.tensor([[[[0, 255], [51, 102]]]], dtype=torch.uint8)
    assert torch.equal(training.training_inputs(pixels),
                       torch.tensor([[[[0.0, 1.0], [0.2, 0.4]]]]))
    z = torch.tensor([[[[-2.5, 3.0]]]], dtype=torch.float64)
    read = training.training_inputs(z)
    assert read.dtype == torch.float32 and torch.equal(read, z.float())
    read.add_(1)  # a copy: the caller's latents stay as they were
    assert torch.equal(z, torch.tensor([[[[-2.5, 3.0]]]], dtype=torch.float64))
    with pytest.raises(ValueError, match="int64"):
        training.training_inputs(torch.zeros(1, 1, 2, 2, dtype=torch.long))
