"""Where jobs run: device choice, precision, threads, machine facts."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from .jobrunner import UserError


class DeviceError(UserError):
    """The configured device is not available; the message says what to do."""


def pick_device(setting: str = "auto") -> torch.device:
    """auto: CUDA when present, else CPU. An explicit cuda device must exist."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device: {setting} was requested but no CUDA GPU is visible to torch. Run on a "
                "GPU machine, or set --config device=auto (or cpu) to run on the CPU."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device: {setting} does not exist; this machine has "
                f"{torch.cuda.device_count()} GPU(s)."
            )
    return device


def cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_flags(info: str | None = None) -> set[str]:
    """The instruction-set flags of the CPU (/proc/cpuinfo's `flags`; empty where unknown)."""
    for line in (cpuinfo() if info is None else info).splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_model(info: str | None = None) -> str:
    """The CPU's model name, e.g. "AMD EPYC 9R14" (/proc/cpuinfo, else platform's guess)."""
    for line in (cpuinfo() if info is None else info).splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# Instructions that compute bf16 natively, making autocast several times faster than fp32:
# Intel AMX tiles, and AVX512-BF16 (e.g. AMD EPYC since Zen 4: 2.6x and 3.6x training speed).
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def use_bf16(setting: str, device: torch.device, flags: set[str] | None = None) -> bool:
    """Resolve performance.precision or .sample_precision (auto, bf16, fp32) for a device.

    auto: bf16 on a CUDA GPU that supports it, and on a CPU with AMX or AVX512-BF16 (`flags`,
    read from /proc/cpuinfo unless given); fp32 elsewhere, where bf16 would be emulated.
    """
    if setting == "fp32":
        return False
    if setting == "bf16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return bool(BF16_CPU_FLAGS & (cpu_flags() if flags is None else flags))


def bf16_forward(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Make `model` (in place) compute its forward pass under bf16 autocast and return float32.

    For sampling only, where a network runs hundreds of times without gradients; the model
    keeps its class and float32 weights, and everything around the network (the sampler's
    arithmetic, classifiers judging the samples) stays in float32. Weights and image batches
    are stored channels-last, which bf16 convolutions need to run at full speed (1.25-1.5x the
    samples per second of the default layout on 2 AMX cores, docs/benchmarks.md section 9).
    """
    model.to(memory_format=torch.channels_last)
    forward = model.forward

    def forward_bf16(x: torch.Tensor, *args, **kwargs):
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return forward(x, *args, **kwargs).float()

    model.forward = forward_bf16
    return model


def set_threads(threads: int) -> None:
    torch.set_num_threads(max(1, int(threads)))


def describe(device: torch.device) -> dict:
    """Facts about the machine a job ran on, written next to its outputs."""
    info = {
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
