"""Config validation against the JSON schemas in schemas/, with messages that name the key.

The main schema may refer to other schema files of the same folder by file name
(`$ref: part_a.schema.yaml`), so each part of the pipeline keeps its own schema.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .jobrunner import UserError

# libyaml's loader when PyYAML has it: every Snakemake command validates the config, and the
# pure-Python loader takes a tenth of a second on the schemas.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(UserError, ValueError):
    """The config breaks the schema; the message names the offending key. A UserError, so
    that a job which finds one ends with its line alone (jobrunner.run_job)."""


def _schemas(folder: Path) -> dict[str, dict]:
    """Every *.schema.yaml of the folder by file name."""
    return {p.name: yaml.load(p.read_text(), Loader=_LOADER)
            for p in sorted(folder.glob("*.schema.yaml"))}


def key_path(parts) -> str:
    """["part_a", "mnist", "inpainting", 0, "box"] -> "part_a.mnist.inpainting[0].box"."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path.lstrip(".") or "(top level)"


def validate(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError naming the first offending key (all of them, one line each).

    schema_path: a *.schema.yaml file; the others of its folder are what it may refer to."""
    schema_path = Path(schema_path)
    schemas = _schemas(schema_path.parent)
    registry = Registry().with_resources(
        (name, Resource.from_contents(contents, DRAFT202012)) for name, contents in schemas.items()
    )
    validator = Draft202012Validator(schemas[schema_path.name], registry=registry)
    errors = _most_relevant(list(validator.iter_errors(config)))
    if not errors:
        return
    lines = []
    for err in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        where = key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            known = sorted(err.schema.get("properties", {}))
            lines.append(f"{err.message} under {where} (known keys: {', '.join(known)})")
        else:
            lines.append(f"config key {where}: {err.message}")
    raise ConfigError("invalid config: " + "; ".join(lines))


def _most_relevant(errors: list) -> list:
    """The errors a person can act on.

    An anyOf/oneOf error stands for the sub-error that best matches the value (jsonschema's
    best_match), not "is not valid under any of the given schemas". An unevaluatedProperties
    error next to another error under the same key is dropped: a failing allOf branch leaves
    every key it defines unevaluated, so that error would list all the valid keys (a misspelt
    key is still reported once the other error is fixed).
    """
    errors = [best_match(err.context) if err.context else err for err in errors]
    real = [err for err in errors if err.validator != "unevaluatedProperties"]

    def covered(err) -> bool:
        path = list(err.absolute_path)
        return any(list(other.absolute_path)[:len(path)] == path for other in real)

    return real + [err for err in errors
                   if err.validator == "unevaluatedProperties" and not covered(err)]
