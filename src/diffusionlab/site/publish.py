"""Ship a built site: one deterministic .zip archive and/or a folder ready for GitHub Pages."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from .files import replace_dir, site_files, staging_dir

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def pack_zip(site: str | Path, archive: str | Path) -> Path:
    """Pack the site into `archive`, every file under a folder named after the archive.

    Entries come in sorted order with fixed dates and permissions, so the same site gives
    byte-identical archives.
    """
    site, archive = Path(site), Path(archive)
    _require_site(site)
    top = archive.name.removesuffix(".zip")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel in site_files(site):
            info = zipfile.ZipInfo(f"{top}/{rel.as_posix()}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, so the permissions above are read as such
            zf.writestr(info, (site / rel).read_bytes())
    os.replace(partial, archive)
    return archive


def pages_folder(site: str | Path, dest: str | Path) -> Path:
    """Copy the site to `dest` with a .nojekyll file, as GitHub Pages serves it unchanged."""
    site, dest = Path(site), Path(dest)
    _require_site(site)
    if dest.resolve() == site.resolve():
        raise ValueError("the GitHub Pages folder must differ from the site folder")
    staged = staging_dir(dest)
    try:
        for rel in site_files(site):
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(site / rel, staged / rel)
        (staged / ".nojekyll").write_bytes(b"")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_dir(staged, dest)
    return dest


def publish(
    site: str | Path, *, archive: str | Path | None = None, pages: str | Path | None = None
) -> list[Path]:
    """Make the archive and/or the GitHub Pages folder; returns what was written."""
    if archive is None and pages is None:
        raise ValueError("publish needs an archive path, a pages folder, or both")
    written = []
    if archive is not None:
        written.append(pack_zip(site, archive))
    if pages is not None:
        written.append(pages_folder(site, pages))
    return written


def _require_site(site: Path) -> None:
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site} holds no built site (index.html is missing)")
