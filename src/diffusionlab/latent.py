"""Latent diffusion: an autoencoder per data set, its latents cached once, and the glue that
trains and samples the part B DDPMs in its latent space.

The autoencoder is diffusers' `AutoencoderKL` built from a small spec and trained from scratch
(reconstruction + kl_weight * KL). It sees images in [-1, 1], zero-padded (0 = background in
[0, 1]) to the smallest size that the downsampling factor 2 ** (levels - 1) and the latent
UNet's divisor both divide: 28x28 with a x4 factor becomes 32x32 and 8x8 latents. Decoding
crops back to the data set's size and clamps to [0, 1].

A spec is plain data, so checkpoints and JSON files can hold it:

    {"channels", "image_size", "block_out_channels", "layers_per_block", "latent_channels",
     "norm_groups", "latent_multiple"}

The latent cache stores the posterior means of both splits unscaled, with
scale = 1 / std(train latents): the DDPM trains on latents * scale (unit standard deviation,
as its noise schedule assumes), and decode_latents divides the scale out again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .config import ConfigError
from .data import Dataset, as_float, fingerprint
from .models import UNET2D_DEFAULTS
from .torchfiles import atomic_save, read_torch_dict
from .training import checkpoint_path, cpu_state, digest, epoch_generator, read_state

AUTOENCODER_DEFAULTS = {"block_out_channels": (32, 64, 64), "layers_per_block": 1,
                        "latent_channels": 4, "latent_multiple": 4}
RECONSTRUCTION_LOSSES = ("l2", "l1")


def _positive_int(key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"autoencoder spec key {key!r}: {value!r} is not a positive integer")
    return value


def autoencoder_spec(
    *,
    channels: int,
    image_size: int,
    block_out_channels: Sequence[int] | None = None,
    layers_per_block: int | None = None,
    latent_channels: int | None = None,
    norm_groups: int | None = None,
    latent_multiple: int | None = None,
) -> dict:
    """The checked, complete spec of an autoencoder; raises ConfigError naming the key at fault.

    block_out_channels: the encoder's channels per level (each level after the first halves
    the size, so the downsampling factor is 2 ** (len - 1)); norm_groups: GroupNorm groups
    (default: the largest divisor of 32 shared by all levels); latent_multiple: what the latent
    size must be divisible by (4 for the course UNet, which halves it twice).
    """
    widths = AUTOENCODER_DEFAULTS["block_out_channels"] if block_out_channels is None \
        else block_out_channels
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise ConfigError(f"autoencoder spec key 'block_out_channels': {widths!r} is not a "
                          "list of positive integers")
    widths = [_positive_int("block_out_channels", w) for w in widths]
    groups = _positive_int("norm_groups",
                           math.gcd(32, *widths) if norm_groups is None else norm_groups)
    if any(w % groups for w in widths):
        raise ConfigError(f"autoencoder spec key 'norm_groups': {groups} does not divide every "
                          f"width of block_out_channels {widths}")

    def given(key, value):
        return _positive_int(key, AUTOENCODER_DEFAULTS[key] if value is None else value)

    return {"channels": _positive_int("channels", channels),
            "image_size": _positive_int("image_size", image_size),
            "block_out_channels": widths,
            "layers_per_block": given("layers_per_block", layers_per_block),
            "latent_channels": given("latent_channels", latent_channels),
            "norm_groups": groups,
            "latent_multiple": given("latent_multiple", latent_multiple)}


def downsampling_factor(spec: dict) -> int:
    return 2 ** (len(spec["block_out_channels"]) - 1)


def padded_size(spec: dict) -> int:
    """The smallest size >= the image size whose latent the factor and latent_multiple divide."""
    unit = downsampling_factor(spec) * spec["latent_multiple"]
    return -(-spec["image_size"] // unit) * unit


def latent_shape(spec: dict) -> tuple[int, int, int]:
    """(C, H, W) of one image's latent."""
    size = padded_size(spec) // downsampling_factor(spec)
    return spec["latent_channels"], size, size


def pad(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images [N, C, H, W] centred on a size x size canvas of zeros (the extra row or column of
    an odd margin goes bottom/right)."""
    dy, dx = size - images.shape[-2], size - images.shape[-1]
    return nn.functional.pad(images, (dx // 2, dx - dx // 2, dy // 2, dy - dy // 2))


def crop(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The inverse of pad: the centred height x width window."""
    top, left = (images.shape[-2] - height) // 2, (images.shape[-1] - width) // 2
    return images[..., top : top + height, left : left + width]


class Autoencoder(nn.Module):
    """diffusers' AutoencoderKL behind images in [0, 1] of the data set's size.

    posterior(x) pads and maps to [-1, 1] before encoding; decode(z) returns the decoder's
    output mapped back to [0, 1] and cropped, unclamped (the training loss needs it as is).
    """

    def __init__(self, spec: dict):
        super().__init__()
        from diffusers import AutoencoderKL  # heavy import, only where an autoencoder is built

        self.spec = dict(spec)
        levels = len(spec["block_out_channels"])
        self.vae = AutoencoderKL(
            in_channels=spec["channels"],
            out_channels=spec["channels"],
            down_block_types=("DownEncoderBlock2D",) * levels,
            up_block_types=("UpDecoderBlock2D",) * levels,
            block_out_channels=tuple(spec["block_out_channels"]),
            layers_per_block=spec["layers_per_block"],
            latent_channels=spec["latent_channels"],
            norm_num_groups=spec["norm_groups"],
            sample_size=padded_size(spec),
        )

    def posterior(self, images: torch.Tensor):
        """The diagonal Gaussian q(z | x) of images in [0, 1] (.mean, .std, .kl())."""
        x = pad(images, padded_size(self.spec)) * 2 - 1
        return self.vae.encode(x).latent_dist

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        size = self.spec["image_size"]
        return crop((self.vae.decode(latents).sample + 1) / 2, size, size)


def checked_spec(spec: dict) -> dict:
    """autoencoder_spec of a spec dict (from a config or a checkpoint): ConfigError for a
    wrong type, an unknown or missing key, or a bad value."""
    if not isinstance(spec, dict):
        raise ConfigError(f"an autoencoder spec must be a mapping, not {type(spec).__name__}")
    try:
        return autoencoder_spec(**spec)
    except TypeError as err:  # an unknown or missing key
        raise ConfigError(f"autoencoder spec {sorted(spec)}: {err}") from None


def build_autoencoder(spec: dict) -> Autoencoder:
    """The freshly initialised autoencoder a spec describes (the spec is checked first)."""
    return Autoencoder(checked_spec(spec))


@dataclass(frozen=True)
class AutoencoderSettings:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    # loss = reconstruction (per-pixel mean, in [-1, 1]) + kl_weight * KL (per latent element)
    kl_weight: float = 1e-3
    reconstruction: str = "l2"
    checkpoint_epochs: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("autoencoder settings: epochs >= 1, batch_size >= 1 and lr > 0 "
                              f"are required, not {self.epochs}, {self.batch_size}, {self.lr}")
        if self.kl_weight < 0:
            raise ConfigError(f"autoencoder setting 'kl_weight': {self.kl_weight} is negative")
        if self.reconstruction not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f"autoencoder setting 'reconstruction': {self.reconstruction!r} "
                              f"is not one of {list(RECONSTRUCTION_LOSSES)}")
        if bad := [e for e in self.checkpoint_epochs if not 1 <= e <= self.epochs]:
            raise ConfigError(f"autoencoder setting 'checkpoint_epochs': {bad} lie outside "
                              f"1..{self.epochs}")

    def fingerprint(self) -> str:
        """Hash of every setting that changes the weights (not the checkpoint list)."""
        d = asdict(self)
        d.pop("checkpoint_epochs")
        return digest(json.dumps(d, sort_keys=True))[:16]


def autoencoder_loss(model: Autoencoder, s: AutoencoderSettings, images: torch.Tensor,
                     g: torch.Generator) -> torch.Tensor:
    """The loss of a batch of images in [0, 1]: z is drawn from q(z | x) with the generator g
    (on the images' device); the reconstruction is compared in the VAE's [-1, 1] scale."""
    q = model.posterior(images)
    z = q.mean + q.std * torch.randn(q.mean.shape, generator=g, device=images.device)
    error = (model.decode(z) - images) * 2  # in [-1, 1] units
    reconstruction = error.square().mean() if s.reconstruction == "l2" else error.abs().mean()
    kl = q.kl().mean() / q.mean[0].numel()
    return reconstruction + s.kl_weight * kl


def autoencoder_checkpoint(model: Autoencoder, s: AutoencoderSettings, epoch: int,
                           data_meta: dict) -> dict:
    """What an autoencoder checkpoint holds: the weights and the spec that rebuilds them;
    loadable with torch.load(weights_only=True)."""
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
    return {"autoencoder": cpu_state(model), "spec": dict(model.spec), "epoch": epoch,
            "settings": settings, "data": data_meta}


def train_autoencoder(
    s: AutoencoderSettings,
    spec: dict,
    images: torch.Tensor,
    workdir: str | Path,
    device: torch.device | str = "cpu",
    data_meta: dict | None = None,
    progress: bool = True,
    after_epoch: Callable[[int], None] | None = None,
    code: str = "",
) -> dict:
    """Train (or resume) an autoencoder on uint8 images [N, C, H, W]; returns
    {"losses": [(epoch, step, loss)], "checkpoint": the final checkpoint dict,
    "checkpoints": {epoch: path}}.

    Resumable as training.train is: each epoch's shuffle and posterior noise come from
    epoch_generator(seed, epoch), the state goes atomically to workdir/state.pt after every
    epoch and is resumed only if made by the same settings, spec, images, meta and code.
    Once the caller has saved the checkpoint, training.discard_resume_state(workdir) ends it.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    data_meta = data_meta or {}
    spec = checked_spec(spec)
    if tuple(images.shape[1:]) != (spec["channels"], spec["image_size"], spec["image_size"]):
        raise ConfigError(f"autoencoder spec: channels {spec['channels']} and image_size "
                          f"{spec['image_size']} do not fit images of shape "
                          f"{tuple(images.shape[1:])}")
    key = digest(s.fingerprint(), json.dumps(spec, sort_keys=True),
                 json.dumps(data_meta, sort_keys=True, default=str),
                 fingerprint(images.cpu()), code)

    def fresh():
        torch.manual_seed(s.seed)
        model = build_autoencoder(spec).to(device)
        return model, torch.optim.Adam(model.parameters(), lr=s.lr)

    model, opt = fresh()
    losses: list[tuple[int, int, float]] = []
    start = 1
    state_path = workdir / "state.pt"
    state = read_state(state_path, key, s, device)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            losses = [tuple(r) for r in state["losses"]]
            start = state["epoch"] + 1
            print(f"resuming autoencoder training after epoch {state['epoch']} from {state_path}")
        except Exception as err:  # noqa: BLE001 (a state of the right key, yet unusable)
            print(f"warning: discarding the unusable resume state {state_path} "
                  f"({type(err).__name__}); training starts over")
            (model, opt), losses, start = fresh(), [], 1
    x_all = as_float(images).to(device)
    n = len(x_all)
    epoch_steps = -(-n // s.batch_size)
    bar = tqdm(total=s.epochs * epoch_steps, initial=(start - 1) * epoch_steps,
               disable=not progress, desc="train autoencoder", mininterval=5)
    for epoch in range(start, s.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=epoch_generator(s.seed, epoch)).to(device)
        g = epoch_generator(s.seed, epoch, device)
        epoch_losses = []
        for lo in range(0, n, s.batch_size):
            loss = autoencoder_loss(model, s, x_all[order[lo : lo + s.batch_size]], g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_losses.append(loss.detach())
            bar.update(1)
        values = torch.stack(epoch_losses).float().cpu().tolist()
        losses.extend((epoch, step, v) for step, v in enumerate(values))
        bar.set_postfix(epoch=epoch, loss=f"{values[-1]:.4f}", refresh=False)
        if epoch in s.checkpoint_epochs:
            atomic_save(autoencoder_checkpoint(model, s, epoch, data_meta),
                        checkpoint_path(workdir, epoch))
        atomic_save({"key": key, "epoch": epoch, "model": model.state_dict(),
                     "optimizer": opt.state_dict(), "losses": [list(r) for r in losses]},
                    state_path)
        if after_epoch is not None:
            after_epoch(epoch)
    bar.close()
    return {"losses": losses,
            "checkpoint": autoencoder_checkpoint(model, s, s.epochs, data_meta),
            "checkpoints": {e: checkpoint_path(workdir, e) for e in s.checkpoint_epochs}}


def load_autoencoder(checkpoint: str | Path | dict,
                     device: torch.device | str = "cpu") -> Autoencoder:
    """The autoencoder of a checkpoint (a file or its dict), rebuilt from its spec alone, in
    eval mode."""
    ck = checkpoint if isinstance(checkpoint, dict) else read_torch_dict(
        checkpoint, {"autoencoder", "spec"}, "an autoencoder checkpoint")
    model = build_autoencoder(ck["spec"])
    model.load_state_dict(ck["autoencoder"])
    return model.to(device).eval()


def _batches(images: torch.Tensor, batch_size: int, device: torch.device):
    for lo in range(0, len(images), batch_size):
        yield images[lo : lo + batch_size].to(device)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def posterior_moments(autoencoder: Autoencoder, images: torch.Tensor,
                      batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The posterior means and standard deviations of uint8 images [N, C, H, W], float32 on
    the CPU, unscaled."""
    autoencoder.eval()
    moments = [(q.mean.float().cpu(), q.std.float().cpu())
               for q in (autoencoder.posterior(as_float(x))
                         for x in _batches(images, batch_size, _device(autoencoder)))]
    if not moments:
        empty = torch.empty(0, *latent_shape(autoencoder.spec))
        return empty, empty
    means, stds = zip(*moments, strict=True)
    return torch.cat(means), torch.cat(stds)


def encode_images(autoencoder: Autoencoder, images: torch.Tensor,
                  batch_size: int = 256) -> torch.Tensor:
    """The posterior means of uint8 images [N, C, H, W], float32 on the CPU, unscaled."""
    return posterior_moments(autoencoder, images, batch_size)[0]


@torch.no_grad()
def decode_latents(latents: torch.Tensor, autoencoder: Autoencoder, scale: float,
                   batch_size: int = 256) -> torch.Tensor:
    """Images in [0, 1] of the data set's shape [N, C, H, W] (CPU float32) from latents in the
    DDPM's scaled space (latent / scale is what the decoder reads)."""
    autoencoder.eval()
    device = _device(autoencoder)
    images = [autoencoder.decode(z.float() / scale).clamp(0, 1).cpu()
              for z in _batches(latents, batch_size, device)]
    c, size = autoencoder.spec["channels"], autoencoder.spec["image_size"]
    return torch.cat(images) if images else torch.empty(0, c, size, size)


def decode_frames(frames: Sequence[torch.Tensor], autoencoder: Autoencoder, scale: float,
                  batch_size: int = 256) -> list[torch.Tensor]:
    """decode_latents of each frame of a sampling animation or detailed-sampling strip (the
    x_t that sampling.sample keeps): the images the figures draw."""
    return [decode_latents(frame, autoencoder, scale, batch_size) for frame in frames]


@torch.no_grad()
def reconstruction_metrics(autoencoder: Autoencoder, images: torch.Tensor,
                           batch_size: int = 256) -> dict:
    """Encode (posterior mean) -> decode on uint8 images: the pixel MSE in [0, 1] over all
    images and PSNR = 10 log10(1 / MSE) in dB (pooled over the set, not per image)."""
    if len(images) == 0:
        raise ValueError("reconstruction metrics need at least one image")
    autoencoder.eval()
    squared, count = 0.0, 0
    for x in _batches(images, batch_size, _device(autoencoder)):
        x = as_float(x)
        y = autoencoder.decode(autoencoder.posterior(x).mean).clamp(0, 1)
        squared += float((y - x).double().square().sum())
        count += x.numel()
    mse = squared / count
    return {"mse": mse, "psnr": 10 * math.log10(1 / mse) if mse > 0 else math.inf,
            "images": len(images)}


def latent_scale(train_latents: torch.Tensor) -> float:
    """1 / std of the training latents over all elements: latents * scale have unit std."""
    std = float(train_latents.double().std())
    if not std > 0:
        raise ValueError("the training latents are constant; the autoencoder collapsed "
                         "(train it longer or lower kl_weight)")
    return 1.0 / std


def encode_dataset(autoencoder: Autoencoder, dataset: Dataset, batch_size: int = 256,
                   autoencoder_meta: dict | None = None) -> dict:
    """The latent cache of a data set: both splits' posterior means (unscaled, float32), labels,
    the scale, the autoencoder's spec and the data set's meta.

    The posterior mean rather than a sample: the cache is then a function of the checkpoint
    alone (no seed to record), and the DDPM learns the points the decoder reconstructs best
    (it is measured on means too). What a sample would have added is recorded:
    meta["posterior_std"], the posterior's mean std over the training latents, in the DDPM's
    scaled units (1 = as large as the latents' whole spread; a small kl_weight keeps it small).
    """
    if tuple(dataset.image_shape) != (autoencoder.spec["channels"],
                                      autoencoder.spec["image_size"],
                                      autoencoder.spec["image_size"]):
        raise ConfigError(f"the autoencoder (spec {autoencoder.spec}) was not made for images "
                          f"of shape {dataset.image_shape}")
    train, train_std = posterior_moments(autoencoder, dataset.train_images, batch_size)
    test = encode_images(autoencoder, dataset.test_images, batch_size)
    scale = latent_scale(train)
    return {"train_latents": train, "train_labels": dataset.train_labels.clone(),
            "test_latents": test, "test_labels": dataset.test_labels.clone(),
            "scale": scale, "autoencoder": dict(autoencoder.spec),
            "meta": {"data": dataset.meta, "autoencoder": autoencoder_meta or {},
                     "posterior_std": float(train_std.double().mean()) * scale}}


def save_latents(cache: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(cache, path)


def load_latents(path: str | Path) -> dict:
    return read_torch_dict(path, {"train_latents", "scale", "autoencoder"}, "a latent cache")


def scaled_latents(cache: dict, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """(latents * scale, labels) of a split: what the latent DDPM trains on."""
    return cache[f"{split}_latents"] * cache["scale"], cache[f"{split}_labels"]


def latent_model_options(cache: dict, **options) -> dict:
    """model_spec's keywords (TrainSettings.model) for a DDPM on a cache's latents: channels
    and size from the autoencoder, classes from the data set, and `options` (arch, widths, ...);
    model_spec(kind, **latent_model_options(cache)) is its spec."""
    channels, size, _ = latent_shape(cache["autoencoder"])
    classes = len(cache["meta"]["data"].get("class_names", [])) or None
    return {"channels": channels, "image_size": size, "num_classes": classes, **options}


def latent_data_meta(cache: dict) -> dict:
    """What a latent DDPM's training is bound to (its resume key and checkpoint "data"): the
    data set's meta, the autoencoder's spec and the scale."""
    return {**cache["meta"]["data"], "latent": {"autoencoder": cache["autoencoder"],
                                                "scale": cache["scale"],
                                                "latent_shape": list(latent_shape(
                                                    cache["autoencoder"]))}}


def latent_multiple(ddpm_model: dict) -> int:
    """What the latent size must be divisible by for the DDPM's network: the course UNet halves
    it twice, UNet2DModel once per level after the first."""
    if ddpm_model.get("arch", "course") == "course":
        return 4
    return 2 ** (len(ddpm_model.get("widths") or UNET2D_DEFAULTS["widths"]) - 1)
