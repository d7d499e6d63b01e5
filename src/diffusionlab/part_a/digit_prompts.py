"""The prompts of the MNIST backend: "a handwritten D" for a digit D, "" for no class."""

from __future__ import annotations

import re

DIGIT_PROMPT = re.compile(r"a handwritten ([0-9])")
GRAMMAR = "prompts 'a handwritten D' with D one digit 0-9, or the null prompt ''"


def digit_prompt(digit: int) -> str:
    return f"a handwritten {digit}"


def prompt_digit(prompt: str) -> int | None:
    """The digit a prompt asks for, None for the null prompt; ValueError for anything else."""
    if prompt == "":
        return None
    match = DIGIT_PROMPT.fullmatch(prompt)
    if match is None:
        raise ValueError(f"the MNIST backend understands {GRAMMAR}, not {prompt!r}")
    return int(match.group(1))
