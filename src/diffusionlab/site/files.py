"""Safe replacement of generated folders: never delete a folder this package did not write."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MARKER = ".diffusionlab-site"


def staging_dir(dest: Path) -> Path:
    """An empty folder next to `dest`, to be moved into place by `replace_dir`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    staged.chmod(0o777 & ~umask)  # mkdtemp's folder is private; a published one is not
    return staged


def replace_dir(staged: Path, dest: Path) -> None:
    """Move `staged` to `dest`, removing a previous build at `dest` first.

    A folder at `dest` is removed only if empty or marked as written by this package;
    anything else raises FileExistsError, and `staged` is cleaned up either way.
    """
    (staged / MARKER).write_text("written by diffusionlab.site; safe to delete\n")
    try:
        if dest.is_symlink() or dest.is_file():
            raise FileExistsError(f"{dest} exists and is not a folder")
        if dest.exists():
            if any(dest.iterdir()) and not (dest / MARKER).exists():
                raise FileExistsError(
                    f"{dest} exists and was not written by diffusionlab.site; "
                    "move it away or pick another output folder"
                )
            shutil.rmtree(dest)
        staged.rename(dest)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def site_files(folder: Path) -> list[Path]:
    """The files of a built site in a stable order, without hidden files (the package's marker,
    Snakemake's .snakemake_timestamp)."""
    files = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return sorted(
        (p for p in files if not any(part.startswith(".") for part in p.parts)),
        key=Path.as_posix,
    )
