"""The prompts of a class-conditioned model: text naming one of its data set's classes.

A prompt names class c when it is one of c's names or ends with one after a space, ignoring
case: for Fashion-MNIST "sneaker", "a photo of a sneaker" and "Sneaker" ask for "Sneaker"; a name
with slashes has each part as a name too ("T-shirt/top": "a t-shirt", "top"); for digits "7" and
"a handwritten 7" ask for "7". When several names end a prompt the longest wins ("a photo of
an ankle boot" is "Ankle boot" even with a class "boot"). "" is the null prompt (no class).
Torch-free: the workflow checks the config's prompts with it.
"""

from __future__ import annotations

from collections.abc import Sequence


def _names(class_names: Sequence[str]) -> list[tuple[str, int]]:
    """(lower-case name, class index) for every class and every part of a slashed name."""
    names = []
    for index, name in enumerate(class_names):
        text = " ".join(name.lower().split())
        names += [(text, index)] + [(part.strip(), index) for part in text.split("/")
                                    if "/" in text and part.strip()]
    return names


def grammar(class_names: Sequence[str]) -> str:
    shown = ", ".join(class_names)
    return (f"prompts naming one of its classes ({shown}), alone or at the end, e.g. "
            f"'{class_names[0]}' or 'a photo of a {class_names[-1].lower()}', or the null "
            "prompt ''")


def prompt_class(prompt: str, class_names: Sequence[str], model: str = "the model") -> int | None:
    """The class index a prompt asks for, None for the null prompt; ValueError for a prompt
    that names no class (the message lists the class names)."""
    if prompt == "":
        return None
    text = " ".join(prompt.lower().split())
    matches = [(len(name), index) for name, index in _names(class_names)
               if text == name or text.endswith(" " + name)]
    if not matches:
        raise ValueError(f"{model} understands {grammar(class_names)}, not {prompt!r}")
    return max(matches)[1]
