"""The site builder: a static HTML write-up of a pipeline run, readable straight from disk.

Usage::

    from diffusionlab.site import Provenance, build_site, load_manifest, publish

    index = build_site(load_manifest("results/report/manifest.yaml"), "report",
                       Provenance(config=config, data_meta=meta, device=device,
                                  benchmarks=tsv_paths))
    publish("report", archive="dist/report.zip", pages="dist/gh-pages")

`build_site` renders the Jinja2 templates of `templates/` into `report/`: `index.html`
(overview, contents, provenance) and one page per part that ran (`part-b.html`, ...), with the
figures copied under `report/figures/<page>/<section>/` and the stylesheet under
`report/static/`. Every link is relative and nothing is loaded from the network: equations are
MathML, fonts are the reader's own. All text passes through Jinja's autoescaping.

The manifest
============

The structure of the write-up (parts, sections, their numbers, titles, equations and prose) is
fixed by `catalogue.PARTS` and the templates. The manifest says what one run produced for each
section. As YAML (JSON has the same shape; or build the dataclasses of `manifest.py`)::

    title: Fun with Diffusion Models          # optional
    subtitle: Reproduced on a laptop CPU      # optional
    values: {seed: 180}                       # caption values shared by all parts
    parts:
      - part: A                               # A, B or eval (catalogue.PARTS)
        backend: DeepFloyd IF                 # optional label; a part may appear once per backend
        not_run: "The DeepFloyd backend was not run: no GPU on this machine."
      - part: B
        slug: part-b                          # optional page name (default from part and backend)
        values: {num_steps: 300}              # caption values for the whole part
        sections:
          "1.2.1":                            # a section key of the catalogue (quote it in YAML)
            values: {sigma: 0.5, epochs: 5}   # caption values for the section
            figures:
              - src: results/part_b/denoiser_loss.png   # relative to build_site's root
                kind: loss                    # caption from templates/captions.yaml ...
              - src: results/part_b/denoiser_epoch5.png
                caption: "After epoch {epoch}, σ = {sigma}."   # ... or a format string here
                values: {epoch: 5}
                alt: "..."                    # optional; defaults to the caption
                pixelated: true               # optional; default: images up to 288 px wide
            tables:
              - src: results/part_b/ood.csv
                kind: ood_table
                digits: 4                     # significant digits of floats
                labels: {mse: MSE}            # optional column headings
            notes: ["Final loss {final_loss:.4f}."]   # extra paragraphs, format strings
          "1.2.2": {not_run: "The out-of-distribution rule is not part of this pipeline yet."}

Rules checked before anything is written: part and section keys exist in the catalogue; a part
that ran lists every section of its part, each with figures, tables or notes, or a `not_run`
reason; a part that did not run gives a reason and no sections; page slugs are unique; every
file exists and is an image (PNG, JPEG, GIF, WebP, SVG), a video (MP4, WebM) or a CSV table;
every caption's {names} are among the values. Values cascade: a figure's own values, then its
section's, its part's and the manifest's. Format strings take names and [index] look-ups only;
a list is joined with commas and the spec `q` quotes each element ({prompts:q}).

Provenance (`Provenance`): the config as run, the data's meta dict, the device (a name or a
dict), and Snakemake benchmark TSV files (the file stem names the rule). The seed defaults to
config["seed"]; package versions, the git commit of `repo` and the date (SOURCE_DATE_EPOCH when
set) are found at build time unless given.

`publish` packs a built site into a byte-reproducible .zip and/or copies it into a folder for
GitHub Pages (with .nojekyll). `python -m diffusionlab.site demo OUT` builds a preview from
synthetic figures.

The rendering and provenance names load their modules on first use: the workflow reads
`catalogue` and `placement` (where its files go in the write-up) while Snakemake parses the
rules, without importing numpy or pandas.
"""

from __future__ import annotations

import importlib

from .catalogue import PARTS, PartSpec, SectionSpec, part_spec
from .manifest import (
    Figure,
    Manifest,
    ManifestError,
    PartResult,
    SectionResult,
    Table,
    load_manifest,
    save_manifest,
)
from .publish import pack_zip, pages_folder, publish

_LAZY = {  # names whose modules import numpy, pandas or Pillow: loaded on first use
    "EQUATIONS": "maths",
    "mathml": "maths",
    "Provenance": "provenance",
    "package_versions": "provenance",
    "read_benchmarks": "provenance",
    "DEFAULT_TEMPLATES": "render",
    "build_site": "render",
}

__all__ = [
    "DEFAULT_TEMPLATES",
    "EQUATIONS",
    "PARTS",
    "Figure",
    "Manifest",
    "ManifestError",
    "PartResult",
    "PartSpec",
    "Provenance",
    "SectionResult",
    "SectionSpec",
    "Table",
    "build_site",
    "load_manifest",
    "mathml",
    "pack_zip",
    "package_versions",
    "pages_folder",
    "part_spec",
    "publish",
    "read_benchmarks",
    "save_manifest",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
