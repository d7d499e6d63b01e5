"""Torch files of the pipeline: written atomically, read with a one-line error when bad.

The lowest layer of file handling for tensors: training, the evaluation and part A all save and
read through here, so none of them imports another for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch

from .jobrunner import UserError


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to a temporary file beside `path`, then rename: no half-written file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_torch_dict(path: str | Path, keys: Iterable[str], what: str, remedy: str = "") -> dict:
    """The dict a torch file holds (tensors on the CPU, weights only).

    A missing file raises FileNotFoundError; a corrupt file, or one that is not a dict with
    `keys`, a UserError naming it as not `what` ("a checkpoint") of this pipeline; `remedy`
    follows "delete it and rerun" (e.g. " (rule train_time rebuilds it)").
    """
    path = Path(path)
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(contents, dict) or not set(keys) <= contents.keys():
            raise ValueError(f"no {sorted(keys)} entries")
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 (torch reports a bad file in many ways)
        raise UserError(f"{path} is corrupt or not {what} of this pipeline "
                        f"({type(err).__name__}); delete it and rerun{remedy}") from err
    return contents
