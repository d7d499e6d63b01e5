"""Training of the part B models: deterministic, tensor-batched and resumable.

Every epoch draws its shuffle and noise from a generator seeded by (seed, epoch), so an epoch's
result depends only on the weights and optimiser state it starts from. After each epoch the
full state goes atomically to `workdir/state.pt`; a run killed at any moment and started again
continues from the last completed epoch and ends with the same weights as an uninterrupted run.

The state is bound to everything that makes the weights: the settings, the training digits
and the code (`state_key`). A state made by other settings, data or code is not resumed, and
a finished job removes its state (`discard_resume_state`), so any rerun Snakemake starts
(changed input, --forcerun) trains afresh while a killed job rerun unchanged resumes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .config import ConfigError
from .data import as_float, fingerprint
from .jobrunner import UserError
from .models import build_from_spec, model_spec
from .runtime import bf16_forward, use_bf16
from .schedule import DDPMSchedule, add_noise
from .torchfiles import atomic_save, read_torch_dict
from .unet import fold_batch_norms, one_hot

OBJECTIVES = ("denoise", "ddpm")
LR_SCHEDULES = ("exponential", "onecycle")


@dataclass(frozen=True)
class TrainSettings:
    kind: str  # "unconditional", "time" or "class"
    hidden: int | None  # the course UNet's width D (None for other architectures)
    epochs: int
    batch_size: int
    lr: float
    seed: int
    # exponential: ExponentialLR stepped per epoch with gamma = lr_decay_total ** (1 / epochs)
    # (None keeps the lr constant); onecycle: torch's OneCycleLR stepped per optimiser step,
    # peaking at lr (lr_decay_total unused).
    lr_schedule: str = "exponential"
    lr_decay_total: float | None = None
    # Decay d of the weights' moving average that checkpoints hold (class EMA); None: no EMA.
    ema_decay: float | None = None
    sigma: float = 0.5  # noise level of the one-step denoiser
    num_steps: int = 300  # DDPM T
    beta_start: float = 1e-4
    beta_end: float = 0.02
    p_uncond: float = 0.1  # class-conditioned: probability of dropping the class
    channels_last: bool = False
    autocast_bf16: bool = False
    compile: bool = False  # torch.compile the model for the training loop
    checkpoint_epochs: tuple[int, ...] = field(default_factory=tuple)
    # The network beyond kind and hidden: model_spec's keywords (arch, channels, image_size,
    # num_classes, widths, ...). None: the exercise's UNet for 28x28 MNIST digits.
    model: dict | None = None

    def __post_init__(self):
        if (self.epochs < 1 or self.batch_size < 2 or self.lr <= 0
                or (self.hidden is not None and self.hidden < 1)):
            raise ValueError("epochs, hidden >= 1, batch_size >= 2 and lr > 0 are required")
        bad = [e for e in self.checkpoint_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"checkpoint epochs {bad} lie outside 1..{self.epochs}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, not {self.lr_schedule!r}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must lie in [0, 1) or be None, not {self.ema_decay}")

    @property
    def objective(self) -> str:
        return "denoise" if self.kind == "unconditional" else "ddpm"

    def spec(self) -> dict:
        """The model spec (diffusionlab.models) of the network these settings train."""
        options = dict(self.model or {})
        if options.get("arch", "course") == "course":
            options["hidden"] = self.hidden
        return model_spec(self.kind, **options)

    def schedule(self) -> DDPMSchedule:
        return DDPMSchedule.linear(self.num_steps, self.beta_start, self.beta_end)

    def fingerprint(self) -> str:
        """Hash of every setting that changes the weights (not the checkpoint list)."""
        d = asdict(self)
        d.pop("checkpoint_epochs")
        if d["model"] is None:  # the MNIST UNet: the fingerprint it had before specs
            d.pop("model")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def epoch_generator(seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator of one epoch's draws, on the device that uses them (no host copies)."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


def batch_loss(
    model: nn.Module,
    s: TrainSettings,
    x: torch.Tensor,
    y: torch.Tensor,
    g: torch.Generator,
    schedule: DDPMSchedule | None,
) -> torch.Tensor:
    """The L2 objective of one batch; all randomness comes from the generator g on x's device."""
    eps = torch.randn(x.shape, generator=g, device=x.device)
    if s.objective == "denoise":
        return nn.functional.mse_loss(model(x + s.sigma * eps), x)
    t = torch.randint(0, s.num_steps, (x.shape[0],), generator=g, device=x.device)
    xt = add_noise(x, t, eps, schedule)
    t_in = t.float() / s.num_steps
    if s.kind == "time":
        return nn.functional.mse_loss(model(xt, t_in), eps)
    keep = (torch.rand(x.shape[0], generator=g, device=x.device) >= s.p_uncond).float()
    c = one_hot(y, model.num_classes) * keep[:, None]
    return nn.functional.mse_loss(model(xt, t_in, c), eps)


def new_model(s: TrainSettings) -> nn.Module:
    spec = s.spec()  # checked before the seed: a bad spec consumes no draw
    torch.manual_seed(s.seed)
    return build_from_spec(spec)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimiser steps of an epoch over n digits (a last batch of one image is skipped)."""
    return n // batch_size + (n % batch_size >= 2)


def make_optimizer(model: nn.Module, s: TrainSettings, epoch_steps: int):
    """Adam and the learning-rate schedule of `s` for epochs of `epoch_steps` steps.

    Adam is torch's fused implementation on the devices that have one (CPU and CUDA): the
    same update in one kernel instead of one small loop per parameter tensor, 2.3 against
    4.1 ms of a 73 ms CPU step of the hidden-32 UNets (docs/benchmarks.md section 1).
    """
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, fused=fused)
    if s.lr_schedule == "onecycle":
        # torch's defaults: 30% warm-up from lr / 25, cosine decay to lr / 1e5 (Adam's beta1
        # cycles 0.95 -> 0.85 -> 0.95 against it).
        return opt, torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=s.lr, total_steps=s.epochs * epoch_steps)
    gamma = 1.0 if s.lr_decay_total is None else s.lr_decay_total ** (1.0 / s.epochs)
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)


class EMA:
    """Exponential moving average of a model's weights: the model that checkpoints hold.

    Starting from the initial weights, the n-th optimiser step (n = 0, 1, ...) updates every
    parameter as

        ema <- d_n * ema + (1 - d_n) * w,    d_n = min(decay, (1 + n) / (10 + n)),

    and copies the buffers (BatchNorm's running statistics). The warm-up of d_n forgets the
    random initial weights within the first steps, so short runs average trained weights too.
    torch.optim.swa_utils.AveragedModel would read its step count from a device buffer (a host
    sync every step on a GPU), hence this small class with the count on the host.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).requires_grad_(False).eval()
        self.steps = 0

    def weight(self) -> float:
        """d_n of the next update."""
        return min(self.decay, (1 + self.steps) / (10 + self.steps))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        torch._foreach_lerp_(list(self.model.parameters()),
                             [p.detach() for p in model.parameters()], 1.0 - self.weight())
        for mine, theirs in zip(self.model.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
        self.steps += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.steps = int(state["steps"])


def cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def checkpoint(model: nn.Module, s: TrainSettings, epoch: int, data_meta: dict,
               ema: EMA | None = None) -> dict:
    """What a checkpoint file holds; loadable with torch.load(weights_only=True).

    "model" is what samplers load: the moving average when the run keeps one (the trained
    weights then under "raw_model").
    """
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
    ck = {"model": cpu_state(model), "kind": s.kind, "hidden": s.hidden, "spec": s.spec(),
          "epoch": epoch, "settings": settings, "data": data_meta}
    if ema is not None:
        ck.update(model=cpu_state(ema.model), raw_model=ck["model"])
    return ck


def rebuilt_by(path: Path) -> str:
    """How to rebuild a file: the rule that writes part B's checkpoints, when it is one."""
    parts = path.parts
    if len(parts) >= 4 and parts[-2] == "checkpoints" and parts[-4] == "part_b":
        return f" (rule train_{parts[-3]} rebuilds it)"
    return ""


def read_checkpoint(path: str | Path) -> dict:
    """The contents of a checkpoint file; a corrupt or foreign file is a UserError naming it."""
    return read_torch_dict(path, {"model", "kind", "hidden"}, "a checkpoint",
                           rebuilt_by(Path(path)))


def spec_of(ck: dict, path: str | Path) -> dict:
    """The spec that rebuilds a checkpoint's model; checkpoints written before specs hold the
    exercise's MNIST UNet of their kind and width. A bad spec is a UserError naming the file."""
    try:
        if "spec" in ck:
            return model_spec(**ck["spec"])
        return model_spec(ck["kind"], hidden=ck["hidden"])
    except (ConfigError, TypeError) as err:
        raise UserError(f"{path}: its model spec is invalid ({err}); delete it and "
                        f"rerun{rebuilt_by(Path(path))}") from err


def load_checkpoint(
    path: str | Path, device: torch.device | str = "cpu", precision: str = "fp32"
) -> nn.Module:
    """The model of a checkpoint, for inference; `precision` (performance.sample_precision:
    fp32, bf16 or auto) may run its forward pass in bf16 (runtime.bf16_forward). Batch norms
    after convolutions (the course UNets') are folded into them (unet.fold_batch_norms)."""
    ck = read_checkpoint(path)
    model = build_from_spec(spec_of(ck, path))
    model.load_state_dict(ck["model"])
    device = torch.device(device)
    model = fold_batch_norms(model.to(device).eval())
    return bf16_forward(model, device) if use_bf16(precision, device) else model


def train_step(net: nn.Module, opt, s: TrainSettings, x, y, g, schedule,
               ema: EMA | None = None) -> torch.Tensor:
    """One optimisation step on a batch (and the moving average's update); the loss comes back
    detached and on the device (an epoch's losses are read at once: reading each would stall a
    GPU every step)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=s.autocast_bf16):
        loss = batch_loss(net, s, x, y, g, schedule)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if ema is not None:
        ema.update(net)
    return loss.detach()


def digest(*parts: str | bytes) -> str:
    """SHA-256 of strings and bytes, in order."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()


def files_digest(paths: Iterable[str | os.PathLike]) -> str:
    """Hash of the contents of files (a job's code), independent of their order and location."""
    return digest(*sorted(digest(Path(path).read_bytes()) for path in paths))


def state_key(s: TrainSettings, images: torch.Tensor, labels: torch.Tensor, data_meta: dict,
              code: str) -> str:
    """What a resume state must have been made by: these settings, digits and code."""
    meta = json.dumps(data_meta, sort_keys=True, default=str)
    return digest(s.fingerprint(), meta, fingerprint(images.cpu(), labels.cpu()), code)


def discard_resume_state(workdir: str | Path) -> None:
    """Remove a finished training's state and checkpoint copies, once its outputs are written:
    a later run of the job (one Snakemake starts) is then a fresh training."""
    workdir = Path(workdir)
    for path in [workdir / "state.pt", *workdir.glob("epoch_*.pt")]:
        path.unlink(missing_ok=True)
    if workdir.is_dir() and not any(workdir.iterdir()):
        workdir.rmdir()


def checkpoint_path(workdir: Path, epoch: int) -> Path:
    return workdir / f"epoch_{epoch:03d}.pt"


def read_state(path: Path, key: str, s: TrainSettings, device: torch.device) -> dict | None:
    """The resume state at `path` if it was made by `key` and its checkpoints are all there;
    None when there is none to resume (an unreadable one gets a warning)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        stored = state["key"]
    except Exception as err:  # noqa: BLE001 (torch reports a bad file in many ways)
        print(f"warning: discarding the unreadable resume state {path} ({type(err).__name__}); "
              "training starts over")
        return None
    if stored != key:
        return None
    done = [e for e in s.checkpoint_epochs if e <= state["epoch"]]
    if not all(checkpoint_path(path.parent, e).exists() for e in done):
        return None
    return state


def training_inputs(images: torch.Tensor) -> torch.Tensor:
    """What a model trains on: uint8 images as floats in [0, 1]; float inputs (a latent
    DDPM's scaled latents) as they are, as a float32 copy (the caller's tensor is untouched)."""
    if images.dtype == torch.uint8:
        return as_float(images)
    if not images.is_floating_point():
        raise ValueError(f"training inputs must be uint8 images or floats, not {images.dtype}")
    return images.to(torch.float32, copy=True)


def train(
    s: TrainSettings,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    workdir: str | Path,
    device: torch.device | str = "cpu",
    data_meta: dict | None = None,
    progress: bool = True,
    after_epoch: Callable[[int], None] | None = None,
    code: str = "",
) -> dict:
    """Train (or resume) and return {"losses": [(epoch, step, loss)], "checkpoints": {epoch: path}}.

    train_images: uint8 images [N, C, H, W] (read as [0, 1]) or float inputs taken as they are
    (a latent DDPM's scaled latents, latent.scaled_latents).

    Checkpoints of `s.checkpoint_epochs` are written to workdir/epoch_NNN.pt as they are reached.
    `code` identifies the code that trains (files_digest of the job's modules): a resume state
    made by other code, settings or digits is not resumed. Once the caller has copied what it
    keeps, discard_resume_state(workdir) ends the training.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    data_meta = data_meta or {}
    n = train_images.shape[0]
    epoch_steps = steps_per_epoch(n, s.batch_size)

    def fresh():
        model = new_model(s).to(device)
        if s.channels_last:
            model = model.to(memory_format=torch.channels_last)
        opt, sched = make_optimizer(model, s, epoch_steps)
        ema = EMA(model, s.ema_decay) if s.ema_decay is not None else None
        return model, opt, sched, ema

    model, opt, sched, ema = fresh()
    losses: list[tuple[int, int, float]] = []
    start = 1
    key = state_key(s, train_images, train_labels, data_meta, code)
    state_path = workdir / "state.pt"
    state = read_state(state_path, key, s, device)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["lr_scheduler"])
            if ema is not None:
                ema.load_state_dict(state["ema"])
            losses = [tuple(r) for r in state["losses"]]
            start = state["epoch"] + 1
            print(f"resuming {s.kind} training after epoch {state['epoch']} from {state_path}")
        except Exception as err:  # noqa: BLE001 (a state of the right key, yet unusable)
            print(f"warning: discarding the unusable resume state {state_path} "
                  f"({type(err).__name__}); training starts over")
            model, opt, sched, ema = fresh()
            losses, start = [], 1
    net = torch.compile(model) if s.compile else model  # shares weights with `model`
    schedule = s.schedule() if s.objective == "ddpm" else None
    x_all = training_inputs(train_images).to(device)
    y_all = train_labels.to(device)
    if s.channels_last:
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    bar = tqdm(total=s.epochs * epoch_steps, initial=(start - 1) * epoch_steps,
               disable=not progress, desc=f"train {s.kind}", mininterval=5)
    for epoch in range(start, s.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=epoch_generator(s.seed, epoch)).to(device)
        g = epoch_generator(s.seed, epoch, device)
        epoch_losses = []
        for lo in range(0, n, s.batch_size):
            idx = order[lo : lo + s.batch_size]
            if idx.numel() < 2:  # BatchNorm cannot train on a single image
                continue
            epoch_losses.append(
                train_step(net, opt, s, x_all[idx], y_all[idx], g, schedule, ema))
            if s.lr_schedule == "onecycle":
                sched.step()
            bar.update(1)
        values = torch.stack(epoch_losses).float().cpu().tolist()
        losses.extend((epoch, step, v) for step, v in enumerate(values))
        bar.set_postfix(epoch=epoch, loss=f"{values[-1]:.4f}", refresh=False)
        if s.lr_schedule == "exponential":
            sched.step()
        if epoch in s.checkpoint_epochs:
            atomic_save(checkpoint(model, s, epoch, data_meta, ema),
                        checkpoint_path(workdir, epoch))
        atomic_save(
            {"key": key, "epoch": epoch, "model": model.state_dict(),
             "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(),
             "ema": ema.state_dict() if ema is not None else None,
             "losses": [list(r) for r in losses]},
            state_path,
        )
        if after_epoch is not None:
            after_epoch(epoch)
    bar.close()
    return {
        "losses": losses,
        "checkpoints": {e: checkpoint_path(workdir, e) for e in s.checkpoint_epochs},
    }


# What every training job shares (part B, the deep dive, latent DDPMs)


def job_settings(settings: dict, performance: dict, device: torch.device) -> TrainSettings:
    """TrainSettings of a rule's `settings` and `performance` params, for `device`."""
    return TrainSettings(
        **{**settings, "checkpoint_epochs": tuple(settings["checkpoint_epochs"])},
        channels_last=performance["channels_last"],
        autocast_bf16=use_bf16(performance["precision"], device),
        compile=performance["compile"],
    )


def write_losses(losses, path: str | Path) -> None:
    """The per-step losses [(epoch, step, loss)] as a CSV table."""
    import pandas as pd

    table = pd.DataFrame(losses, columns=["epoch", "step", "loss"])
    table.to_csv(path, index=False, float_format="%.6g")


def train_job(
    s: TrainSettings,
    images: torch.Tensor,
    labels: torch.Tensor,
    meta: dict,
    *,
    workdir: str | Path,
    device: torch.device,
    code_files: Iterable[str | os.PathLike],
    checkpoints: dict[int, str | Path],
    losses_csv: str | Path,
    info_json: str | Path,
    info: dict,
) -> None:
    """Train (resuming a killed run of the same code and inputs), copy the checkpoints of
    their epochs to `checkpoints` {epoch: path}, write the losses and `info` with the run's
    precision, data and machine; then drop the resume state, so that any rerun Snakemake
    starts is a fresh training."""
    from .jobrunner import write_json
    from .runtime import describe

    result = train(s, images, labels, workdir, device, meta, code=files_digest(code_files))
    for epoch, path in checkpoints.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result["checkpoints"][epoch], path)
    write_losses(result["losses"], losses_csv)
    write_json({**info, "bf16": s.autocast_bf16, "channels_last": s.channels_last,
                "compile": s.compile, "data": meta, "machine": describe(device)}, info_json)
    discard_resume_state(workdir)
