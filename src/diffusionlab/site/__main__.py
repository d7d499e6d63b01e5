"""Command line: `python -m diffusionlab.site demo OUT [--zip ARCHIVE]`.

Builds the preview site of `demo.py` into OUT (its synthetic inputs go to OUT-inputs/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .demo import demo
from .publish import pack_zip
from .render import DEFAULT_TEMPLATES, build_site


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m diffusionlab.site")
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("demo", help="build a preview site from synthetic figures")
    preview.add_argument("out", type=Path, help="folder of the site (replaced if built before)")
    preview.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES)
    preview.add_argument("--zip", type=Path, help="also pack the site into this archive")
    args = parser.parse_args(argv)
    manifest, provenance = demo(args.out.with_name(args.out.name + "-inputs"))
    index = build_site(manifest, args.out, provenance, templates=args.templates)
    print(index)
    if args.zip:
        print(pack_zip(args.out, args.zip))


if __name__ == "__main__":
    main()
