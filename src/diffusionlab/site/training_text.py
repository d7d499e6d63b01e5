"""How a training's learning-rate schedule and weight averaging read in captions (part B and
the deep dive), from the settings that made it."""

from __future__ import annotations

from collections.abc import Mapping

# What the exercise itself does, said where a run departs from it.
COURSE = "the course decays the rate exponentially by 0.1 and samples the trained weights"


def schedule_text(settings: Mapping, course: bool = False) -> str:
    """`lr_schedule`, `lr_decay_total` and `ema_decay` in words; with `course`, a departure
    from the exercise (one-cycle, EMA) says so."""
    if settings["lr_schedule"] == "onecycle":
        text = "a one-cycle schedule (warm-up to it, then cosine decay)"
    elif settings.get("lr_decay_total") is None:
        text = "kept constant"
    else:
        text = f"decayed exponentially by a factor {settings['lr_decay_total']:g} over training"
    ema = settings.get("ema_decay")
    if ema is not None:
        text += f"; samples come from a moving average of the weights (decay {ema:g})"
    if course and (ema is not None or settings["lr_schedule"] == "onecycle"):
        text += f" — beyond the course: {COURSE}"
    return text
