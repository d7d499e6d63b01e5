"""Render the manifest into a self-contained static site: pages, figures, stylesheet."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup
from PIL import Image, UnidentifiedImageError

from .catalogue import PartSpec, SectionSpec
from .files import replace_dir, staging_dir
from .manifest import Figure, Manifest, ManifestError, PartResult, Table, chain, fill
from .maths import mathml
from .provenance import Provenance, resolve
from .tables import TableView, read_csv, table_view

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
VIDEO_SUFFIXES = {".mp4", ".webm"}
# Pixel art (raw digit grids, 64x64 samples) is enlarged by a whole factor, at most MAX_SCALE,
# to at most COLUMN_PX wide, without smoothing. By default an image is pixel art when it can be
# enlarged at least twice and is at most PIXEL_ART_MAX tall; plots keep their natural size.
COLUMN_PX = 576
MAX_SCALE = 4
PIXEL_ART_MAX = 512


@dataclass(frozen=True)
class FigureView:
    number: int
    href: str
    caption: str
    alt: str
    video: bool
    width: int | None
    height: int | None
    pixelated: bool


@dataclass(frozen=True)
class TableBlock:
    number: int
    caption: str
    table: TableView
    href: str  # the CSV file, for download
    total_rows: int  # rows selected from the file; the table shows at most max_rows of them

    @property
    def truncated(self) -> bool:
        return len(self.table.rows) < self.total_rows


@dataclass(frozen=True)
class SectionView:
    spec: SectionSpec
    prose: str  # template name
    equations: list[Markup]
    figures: list[FigureView]
    tables: list[TableBlock]
    notes: list[str]
    not_run: str | None

    @property
    def skipped(self) -> bool:
        """Not run and nothing to show: marked in the tables of contents."""
        return self.not_run is not None and not (self.figures or self.tables or self.notes)


@dataclass(frozen=True)
class PageView:
    spec: PartSpec
    slug: str
    backend: str | None
    not_run: str | None
    sections: list[SectionView]

    @property
    def file(self) -> str:
        return f"{self.slug}.html"

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def intro(self) -> str:
        return f"sections/{self.spec.slug}/intro.html.j2"


@dataclass(frozen=True)
class SiteView:
    title: str
    subtitle: str | None
    pages: list[PageView]

    @property
    def published(self) -> list[PageView]:
        return [p for p in self.pages if p.not_run is None]


def build_site(
    manifest: Manifest,
    out: str | Path,
    provenance: Provenance,
    *,
    templates: str | Path = DEFAULT_TEMPLATES,
    root: str | Path = ".",
) -> Path:
    """Write the site to `out` (replacing an earlier build) and return its index.html.

    Relative figure and table paths are read from `root`. Nothing is written to `out` unless
    every figure, table, caption and template is in order.
    """
    templates, out, root = Path(templates), Path(out), Path(root)
    if not (templates / "base.html.j2").is_file():
        raise FileNotFoundError(f"no site templates in {templates} (base.html.j2 is missing)")
    _check_files(manifest, root)
    env = environment(templates)
    captions = _load_captions(templates / "captions.yaml")
    prov = resolve(provenance)
    staged = staging_dir(out)
    try:
        copier = _FigureCopier(root, staged)
        pages = [_page(part, manifest, captions, copier) for part in manifest.parts]
        site = SiteView(manifest.title, manifest.subtitle, pages)
        shutil.copytree(templates / "static", staged / "static")
        _write(env, "index.html.j2", staged / "index.html", site=site, page=None, provenance=prov)
        for page in site.published:
            _write(env, "part.html.j2", staged / page.file, site=site, page=page, provenance=prov)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_dir(staged, out)
    return out / "index.html"


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["mathml"] = mathml
    return env


def _write(env: jinja2.Environment, template: str, path: Path, **context: Any) -> None:
    path.write_text(env.get_template(template).render(**context), encoding="utf-8")


def _check_files(manifest: Manifest, root: Path) -> None:
    problems = []
    for part in manifest.parts:
        for key, section in part.sections.items():
            for item in (*section.figures, *section.tables):
                where = f"{part.label}, section {key}: {item.src}"
                suffix = item.src.suffix.lower()
                if isinstance(item, Figure) and suffix not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    problems.append(f"{where} is not an image or video the site can show")
                elif isinstance(item, Table) and suffix != ".csv":
                    problems.append(f"{where} is not a .csv table")
                elif not (root / item.src).is_file():
                    problems.append(f"{where} does not exist")
    if problems:
        raise ManifestError("; ".join(problems))


def _load_captions(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """captions.yaml: part key -> section key -> kind -> caption format string."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {
        str(part): {
            str(sec): {str(k): str(v) for k, v in kinds.items()} for sec, kinds in secs.items()
        }
        for part, secs in (data or {}).items()
    }


def _caption_template(item: Figure | Table, captions, part: PartResult, key: str) -> str:
    if item.caption is not None:
        return item.caption
    kinds = captions.get(part.part, {}).get(key, {})
    if item.kind not in kinds:
        known = ", ".join(kinds) or "none"
        raise ManifestError(
            f"{part.label}, section {key}: no caption of kind {item.kind!r} (known: {known})"
        )
    return kinds[item.kind]


def _page(part: PartResult, manifest: Manifest, captions, copier: _FigureCopier) -> PageView:
    spec = part.spec
    sections = []
    figure_no = table_no = 0
    for section_spec in spec.sections if part.not_run is None else ():
        result = part.sections[section_spec.key]
        outer: Mapping[str, Any] = chain(result.values, part.values, manifest.values)
        where = f"{part.label}, section {section_spec.key}"
        figures = []
        for figure in result.figures:
            figure_no += 1
            template = _caption_template(figure, captions, part, section_spec.key)
            values = chain(figure.values, outer)
            caption = fill(template, values, f"{where}, {figure.src}")
            alt = caption if figure.alt is None else fill(figure.alt, values, f"{where} (alt)")
            dest = copier.copy(figure.src, f"figures/{part.page_slug}/{section_spec.anchor}")
            figures.append(_figure_view(figure_no, figure, dest, copier.root, caption, alt))
        tables = []
        for table in result.tables:
            table_no += 1
            template = _caption_template(table, captions, part, section_spec.key)
            caption = fill(template, chain(table.values, outer), f"{where}, {table.src}")
            frame = _selected(read_csv(copier.root / table.src), table, where)
            shown = frame if table.max_rows is None else frame.head(table.max_rows)
            view = table_view(shown.rename(columns=dict(table.labels)), digits=table.digits)
            href = copier.copy(table.src, f"figures/{part.page_slug}/{section_spec.anchor}")
            tables.append(TableBlock(table_no, caption, view, href, len(frame)))
        notes = [fill(note, outer, f"{where}, note") for note in result.notes]
        sections.append(
            SectionView(
                spec=section_spec,
                prose=f"sections/{spec.slug}/{section_spec.key}.html.j2",
                equations=[mathml(name) for name in section_spec.equations],
                figures=figures,
                tables=tables,
                notes=notes,
                not_run=result.not_run,
            )
        )
    return PageView(spec, part.page_slug, part.backend, part.not_run, sections)


def _selected(frame: pd.DataFrame, table: Table, where: str) -> pd.DataFrame:
    """The rows and columns of a CSV table that the manifest asks to show."""
    named = set(table.labels) | set(table.where) | set(table.columns)
    unknown = sorted(named - set(map(str, frame.columns)))
    if unknown:
        raise ManifestError(f"{where}, {table.src}: no columns {', '.join(unknown)}")
    for column, values in table.where.items():
        wanted = {str(v) for v in values}
        frame = frame[frame[column].astype(str).isin(wanted)]
    if table.columns:
        frame = frame[list(table.columns)]
    return frame.reset_index(drop=True)


def _figure_view(
    number: int, figure: Figure, href: str, root: Path, caption: str, alt: str
) -> FigureView:
    suffix = figure.src.suffix.lower()
    video = suffix in VIDEO_SUFFIXES
    width = height = None
    if not video and suffix != ".svg":
        try:
            with Image.open(root / figure.src) as image:
                width, height = image.size
        except (UnidentifiedImageError, OSError) as err:
            raise ManifestError(f"{figure.src} is not a readable image ({err})") from None
    small = width is not None and COLUMN_PX // width >= 2 and height <= PIXEL_ART_MAX
    pixelated = small if figure.pixelated is None else (figure.pixelated and width is not None)
    if pixelated:
        scale = max(1, min(MAX_SCALE, COLUMN_PX // width))
        width, height = width * scale, height * scale
    return FigureView(number, href, caption, alt, video, width, height, pixelated)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _FigureCopier:
    """Copies each source file once, under a URL-safe name unique within its folder."""

    def __init__(self, root: Path, site: Path):
        self.root = root
        self.site = site
        self.copied: dict[Path, str] = {}

    def copy(self, src: Path, folder: str) -> str:
        source = (self.root / src).resolve()
        if source in self.copied:
            return self.copied[source]
        stem = _UNSAFE.sub("-", source.stem).strip("-.") or "figure"
        suffix = source.suffix.lower()
        taken = set(self.copied.values())
        name, n = f"{folder}/{stem}{suffix}", 1
        while name in taken:
            n += 1
            name = f"{folder}/{stem}-{n}{suffix}"
        target = self.site / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        self.copied[source] = name
        return name
