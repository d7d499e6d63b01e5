"""The prompts of the MNIST backend: its classes are the digits "0" to "9", read as any class
model's prompts are (class_prompts: "7", "a handwritten 7"); "" is no class. Torch-free."""

from __future__ import annotations

from .class_prompts import prompt_class

DIGITS = tuple(str(d) for d in range(10))


def digit_prompt(digit: int) -> str:
    return f"a handwritten {digit}"


def prompt_digit(prompt: str) -> int | None:
    """The digit a prompt asks for, None for the null prompt; ValueError for anything else."""
    return prompt_class(prompt, DIGITS, "the MNIST backend")
