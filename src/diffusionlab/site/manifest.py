"""What a run produced, section by section: the input of the site builder.

See the package docstring (`diffusionlab.site`) for the format. This module parses it from
plain data (a dict, a YAML or a JSON file), checks it against the catalogue of the exercise, and
fills caption format strings from the values passed in.
"""

from __future__ import annotations

import _string
import json
import string
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from .catalogue import PartSpec, part_spec

DEFAULT_TITLE = "Fun with Diffusion Models"


class ManifestError(ValueError):
    """The manifest is malformed or does not fit the catalogue; the message says where."""


def _frozen(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class Figure:
    """One image (PNG, JPEG, GIF, WebP, SVG) or video (MP4, WebM) of a section.

    The caption is either `caption`, a format string, or the caption of `kind` in the
    templates' captions.yaml; either way it is filled from `values` and the values of the
    enclosing section, part and manifest. `pixelated` None decides from the image size.
    """

    src: Path
    kind: str | None = None
    caption: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    alt: str | None = None
    pixelated: bool | None = None

    def __post_init__(self):
        object.__setattr__(self, "src", Path(self.src))
        object.__setattr__(self, "values", _frozen(self.values))
        if (self.kind is None) == (self.caption is None):
            raise ManifestError(f"figure {self.src}: give exactly one of `kind` and `caption`")


@dataclass(frozen=True)
class Table:
    """A CSV file shown as a table: floats with `digits` significant digits, columns renamed
    by `labels` (CSV name -> heading).

    Part of a file can be shown: the rows whose `where` columns hold one of the listed values
    ({"item": ["anagram_0", "anagram_1"]}), the `columns` listed (all when empty), and at most
    `max_rows` rows (the caption then says how many the CSV has). The download is the file.
    """

    src: Path
    kind: str | None = None
    caption: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    digits: int = 4
    labels: Mapping[str, str] = field(default_factory=dict)
    where: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    columns: Sequence[str] = ()
    max_rows: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "src", Path(self.src))
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "labels", _frozen(self.labels))
        where = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in self.where.items()}
        object.__setattr__(self, "where", _frozen(where))
        object.__setattr__(self, "columns", tuple(self.columns))
        if (self.kind is None) == (self.caption is None):
            raise ManifestError(f"table {self.src}: give exactly one of `kind` and `caption`")
        if not 1 <= self.digits <= 17:
            raise ManifestError(f"table {self.src}: digits must lie in 1..17, not {self.digits}")
        if self.max_rows is not None and self.max_rows < 1:
            raise ManifestError(f"table {self.src}: max_rows must be at least 1")


@dataclass(frozen=True)
class SectionResult:
    """What one section shows: figures, tables and notes (format strings), or why it has none."""

    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    not_run: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "tables", tuple(self.tables))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "values", _frozen(self.values))

    @property
    def empty(self) -> bool:
        return not (self.figures or self.tables or self.notes)


@dataclass(frozen=True)
class PartResult:
    """One part of the exercise as run on one backend; a part not run gives the reason."""

    part: str
    sections: Mapping[str, SectionResult] = field(default_factory=dict)
    backend: str | None = None
    slug: str | None = None
    not_run: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "sections", _frozen(self.sections))
        object.__setattr__(self, "values", _frozen(self.values))

    @property
    def spec(self) -> PartSpec:
        return part_spec(self.part)

    @property
    def page_slug(self) -> str:
        if self.slug is not None:
            return self.slug
        if self.backend is None:
            return self.spec.slug
        return f"{self.spec.slug}-{slugify(self.backend)}"

    @property
    def label(self) -> str:
        return f"part {self.part}" + (f" ({self.backend})" if self.backend else "")


@dataclass(frozen=True)
class Manifest:
    parts: tuple[PartResult, ...]
    title: str = DEFAULT_TITLE
    subtitle: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "values", _frozen(self.values))
        check(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        return _parse(cls, data, "manifest")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (str paths, lists, dicts) that from_dict reads back."""
        return to_plain(self)


def load_manifest(path: str | Path) -> Manifest:
    """Read a manifest from a .json, .yaml or .yml file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ManifestError(f"{path}: a manifest is a mapping, not {type(data).__name__}")
    return Manifest.from_dict(data)


def save_manifest(manifest: Manifest, path: str | Path) -> None:
    """Write a manifest as JSON (.json) or YAML (any other suffix)."""
    path = Path(path)
    data = manifest.to_dict()
    if path.suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes: safe in file names and URLs."""
    out = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower())
    return "-".join(filter(None, out.split("-"))) or "x"


# -- checks -------------------------------------------------------------------------------------


def check(manifest: Manifest) -> None:
    """Raise ManifestError unless every part and section fits the catalogue."""
    if not manifest.parts:
        raise ManifestError("the manifest lists no parts")
    slugs: dict[str, str] = {}
    for part in manifest.parts:
        try:
            spec = part.spec
        except KeyError as err:
            raise ManifestError(err.args[0]) from None
        if slugify(part.page_slug) != part.page_slug or part.page_slug == "index":
            raise ManifestError(f"{part.label}: slug {part.page_slug!r} is not a plain page name")
        if part.page_slug in slugs:
            raise ManifestError(
                f"{part.label} and {slugs[part.page_slug]} share the page {part.page_slug!r}; "
                "give one of them a `slug`"
            )
        slugs[part.page_slug] = part.label
        for key in part.sections:
            try:
                spec.section(key)
            except KeyError as err:
                raise ManifestError(f"{part.label}: {err.args[0]}") from None
        if part.not_run is not None:
            if part.sections:
                raise ManifestError(f"{part.label} was not run but lists sections")
            continue
        for section in spec.sections:
            result = part.sections.get(section.key)
            if result is None or (result.empty and result.not_run is None):
                raise ManifestError(
                    f"{part.label}, section {section.key}: no figures, tables or notes; "
                    "give a `not_run` reason"
                )


# -- captions -----------------------------------------------------------------------------------


class _CaptionFormatter(string.Formatter):
    """str.format with plain names and [index] look-ups only (no attribute access), lists
    joined with commas, and the extra spec `q` that puts a value in quotation marks."""

    def get_field(self, field_name, args, kwargs):
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            if is_attr:
                raise ManifestError(f"{{{field_name}}}: attribute access is not allowed")
            obj = obj[key]
        return obj, first

    def get_value(self, key, args, kwargs):
        if isinstance(key, int):
            raise ManifestError("positional fields {} are not allowed; name each value")
        if key not in kwargs:
            known = ", ".join(sorted(kwargs)) or "none"
            raise ManifestError(f"no value {key!r} (values given: {known})")
        return kwargs[key]

    def format_field(self, value, format_spec):
        if isinstance(value, list | tuple):
            return ", ".join(self.format_field(v, format_spec) for v in value)
        if format_spec == "q":
            return f"“{value}”"
        if value is None:
            return "none"
        return format(value, format_spec)


_FORMATTER = _CaptionFormatter()


def fill(template: str, values: Mapping[str, Any], where: str) -> str:
    """Fill a caption format string; errors name the figure and the missing value."""
    try:
        return _FORMATTER.vformat(template, (), values)
    except ManifestError as err:
        raise ManifestError(f"{where}: {err}") from None
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise ManifestError(f"{where}: cannot fill {template!r}: {err}") from None


def chain(*layers: Mapping[str, Any]) -> ChainMap:
    """Values of the innermost layer (first) win over the outer ones."""
    return ChainMap(*layers)


# -- plain data <-> dataclasses -----------------------------------------------------------------

_NESTED = {  # (class, field) -> (class of the items, container: list or mapping by key)
    (Manifest, "parts"): (PartResult, list),
    (PartResult, "sections"): (SectionResult, dict),
    (SectionResult, "figures"): (Figure, list),
    (SectionResult, "tables"): (Table, list),
}


def _parse(cls, data: Any, where: str):
    if not isinstance(data, Mapping):
        raise ManifestError(f"{where}: expected a mapping, not {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        raise ManifestError(
            f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    kwargs = {}
    for name, value in data.items():
        child, container = _NESTED.get((cls, name), (None, None))
        if child is None:
            kwargs[name] = value
        elif container is dict and isinstance(value, Mapping):
            # YAML reads an unquoted 1.2 as a number and 0 as an int: keys are strings here
            kwargs[name] = {
                str(k): _parse(child, v, f"{where}.{name}.{k}") for k, v in value.items()
            }
        elif container is list and isinstance(value, Sequence) and not isinstance(value, str):
            kwargs[name] = [_parse(child, v, f"{where}.{name}[{i}]") for i, v in enumerate(value)]
        else:
            shape = "a mapping by section key" if container is dict else "a list"
            raise ManifestError(f"{where}.{name}: expected {shape}, not {type(value).__name__}")
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ManifestError(f"{where}: {err}") from None


def to_plain(obj: Any) -> Any:
    """Manifest dataclasses, mappings, sequences and paths as dicts, lists and strings."""
    if isinstance(obj, Manifest | PartResult | SectionResult | Figure | Table):
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            default = f.default_factory() if callable(f.default_factory) else f.default
            if value != default and not (isinstance(value, Mapping | tuple) and not value):
                out[f.name] = to_plain(value)
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
