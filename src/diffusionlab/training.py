"""Training of the part B models: deterministic, tensor-batched and resumable.

Every epoch draws its shuffle and noise from a generator seeded by (seed, epoch), so an epoch's
result depends only on the weights and optimiser state it starts from. After each epoch the
full state goes atomically to `workdir/state.pt`; a run killed at any moment and started again
continues from the last completed epoch and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .data import as_float
from .runtime import bf16_forward, use_bf16
from .schedule import DDPMSchedule, add_noise
from .unet import build, one_hot

OBJECTIVES = ("denoise", "ddpm")


@dataclass(frozen=True)
class TrainSettings:
    kind: str  # "unconditional", "time" or "class"
    hidden: int
    epochs: int
    batch_size: int
    lr: float
    seed: int
    # ExponentialLR with gamma = lr_decay_total ** (1 / epochs); None keeps the lr constant.
    lr_decay_total: float | None = None
    sigma: float = 0.5  # noise level of the one-step denoiser
    num_steps: int = 300  # DDPM T
    beta_start: float = 1e-4
    beta_end: float = 0.02
    p_uncond: float = 0.1  # class-conditioned: probability of dropping the class
    channels_last: bool = False
    autocast_bf16: bool = False
    compile: bool = False  # torch.compile the model for the training loop
    checkpoint_epochs: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 2 or self.hidden < 1 or self.lr <= 0:
            raise ValueError("epochs, hidden >= 1, batch_size >= 2 and lr > 0 are required")
        bad = [e for e in self.checkpoint_epochs if not 1 <= e <= self.epochs]
        if bad:
            raise ValueError(f"checkpoint epochs {bad} lie outside 1..{self.epochs}")

    @property
    def objective(self) -> str:
        return "denoise" if self.kind == "unconditional" else "ddpm"

    def schedule(self) -> DDPMSchedule:
        return DDPMSchedule.linear(self.num_steps, self.beta_start, self.beta_end)

    def fingerprint(self) -> str:
        """Hash of every setting that changes the weights (not the checkpoint list)."""
        d = asdict(self)
        d.pop("checkpoint_epochs")
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
    c = one_hot(y, 10) * keep[:, None]
    return nn.functional.mse_loss(model(xt, t_in, c), eps)


def new_model(s: TrainSettings) -> nn.Module:
    torch.manual_seed(s.seed)
    return build(s.kind, s.hidden)


def make_optimizer(model: nn.Module, s: TrainSettings):
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    gamma = 1.0 if s.lr_decay_total is None else s.lr_decay_total ** (1.0 / s.epochs)
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)


def checkpoint(model: nn.Module, s: TrainSettings, epoch: int, data_meta: dict) -> dict:
    """What a checkpoint file holds; loadable with torch.load(weights_only=True)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(s).items()}
    return {"model": state, "kind": s.kind, "hidden": s.hidden, "epoch": epoch,
            "settings": settings, "data": data_meta}


def load_checkpoint(
    path: str | Path, device: torch.device | str = "cpu", precision: str = "fp32"
) -> nn.Module:
    """The model of a checkpoint, for inference; `precision` (performance.sample_precision:
    fp32, bf16 or auto) may run its forward pass in bf16 (runtime.bf16_forward)."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = build(ck["kind"], ck["hidden"])
    model.load_state_dict(ck["model"])
    device = torch.device(device)
    model = model.to(device).eval()
    return bf16_forward(model, device) if use_bf16(precision, device) else model


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_step(net: nn.Module, opt, s: TrainSettings, x, y, g, schedule) -> torch.Tensor:
    """One optimisation step on a batch; the loss comes back detached and on the device (an
    epoch's losses are read at once: reading each would stall a GPU every step)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=s.autocast_bf16):
        loss = batch_loss(net, s, x, y, g, schedule)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def train(
    s: TrainSettings,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    workdir: str | Path,
    device: torch.device | str = "cpu",
    data_meta: dict | None = None,
    progress: bool = True,
    after_epoch: Callable[[int], None] | None = None,
) -> dict:
    """Train (or resume) and return {"losses": [(epoch, step, loss)], "checkpoints": {epoch: path}}.

    Checkpoints of `s.checkpoint_epochs` are written to workdir/epoch_NNN.pt as they are reached.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = torch.device(device)
    data_meta = data_meta or {}
    model = new_model(s).to(device)
    if s.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt, sched = make_optimizer(model, s)
    net = torch.compile(model) if s.compile else model  # shares weights with `model`
    schedule = s.schedule() if s.objective == "ddpm" else None
    losses: list[tuple[int, int, float]] = []
    start = 1
    state_path = workdir / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state["fingerprint"] == s.fingerprint():
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["lr_scheduler"])
            losses = [tuple(r) for r in state["losses"]]
            start = state["epoch"] + 1
            print(f"resuming {s.kind} training after epoch {state['epoch']} from {state_path}")
    x_all = as_float(train_images).to(device)
    y_all = train_labels.to(device)
    if s.channels_last:
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    n = x_all.shape[0]
    batches_per_epoch = (n + s.batch_size - 1) // s.batch_size
    bar = tqdm(total=s.epochs * batches_per_epoch, initial=(start - 1) * batches_per_epoch,
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
            epoch_losses.append(train_step(net, opt, s, x_all[idx], y_all[idx], g, schedule))
            bar.update(1)
        values = torch.stack(epoch_losses).float().cpu().tolist()
        losses.extend((epoch, step, v) for step, v in enumerate(values))
        bar.set_postfix(epoch=epoch, loss=f"{values[-1]:.4f}", refresh=False)
        sched.step()
        if epoch in s.checkpoint_epochs:
            atomic_save(checkpoint(model, s, epoch, data_meta), workdir / f"epoch_{epoch:03d}.pt")
        atomic_save(
            {"fingerprint": s.fingerprint(), "epoch": epoch, "model": model.state_dict(),
             "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(),
             "losses": [list(r) for r in losses]},
            state_path,
        )
        if after_epoch is not None:
            after_epoch(epoch)
    bar.close()
    return {
        "losses": losses,
        "checkpoints": {e: workdir / f"epoch_{e:03d}.pt" for e in s.checkpoint_epochs},
    }
