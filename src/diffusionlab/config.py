"""Config validation against the JSON schemas in schemas/, with messages that name the key.

The main schema may refer to other schema files of the same folder by file name
(`$ref: part_a.schema.yaml`), so each part of the pipeline keeps its own schema.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# libyaml's loader when PyYAML has it: every Snakemake command validates the config, and the
# pure-Python loader takes a tenth of a second on the schemas.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ValueError):
    """The config breaks the schema; the message names the offending key."""


def _schemas(folder: Path) -> dict[str, dict]:
    """Every *.schema.yaml of the folder by file name."""
    return {p.name: yaml.load(p.read_text(), Loader=_LOADER)
            for p in sorted(folder.glob("*.schema.yaml"))}


def key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def validate(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError naming the first offending key (all of them, one line each).

    schema_path: a *.schema.yaml file; the others of its folder are what it may refer to."""
    schema_path = Path(schema_path)
    schemas = _schemas(schema_path.parent)
    registry = Registry().with_resources(
        (name, Resource.from_contents(contents, DRAFT202012)) for name, contents in schemas.items()
    )
    validator = Draft202012Validator(schemas[schema_path.name], registry=registry)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    lines = []
    for err in errors:
        where = key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            known = sorted(err.schema.get("properties", {}))
            lines.append(f"{err.message} under {where} (known keys: {', '.join(known)})")
        else:
            lines.append(f"config key {where}: {err.message}")
    raise ConfigError("invalid config: " + "; ".join(lines))
