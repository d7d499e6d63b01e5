"""How the part A illusions read to an MNIST classifier, on plain tensors.

A *view* is anything with `view(x)` (the part A view objects) or a plain callable x -> x'; view i
of an illusion should look like its target digit c_i. For each sample n and view i,

    p_target[n, i] = p(c_i | view_i(x_n)),
    p_other[n, i]  = max over the other views' targets c_j != c_i of p(c_j | view_i(x_n)),

and per sample

    alignment   = min_i p_target            (the worst view still shows its digit),
    concealment = min_i (p_target - p_other) (each view shows its own digit, not the others'),
    success     = every view is classified as its target.

Visual anagrams pass their views; a hybrid image is the same with two views, a low-pass (the
digit seen from afar) and the identity (seen up close). Images are clipped to [0, 1], as shown,
before any view is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch

from .classifier import DigitClassifier, as_input, probabilities


def apply_view(view, x: torch.Tensor) -> torch.Tensor:
    return view.view(x) if hasattr(view, "view") else view(x)


def _target_tensor(target: int | torch.Tensor, n: int) -> torch.Tensor:
    t = torch.as_tensor(target, dtype=torch.long).cpu()
    if t.dim() == 0:
        return t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"targets must be one digit or one per sample ({n}), not {list(t.shape)}")
    return t


def illusion_scores(
    classifier: DigitClassifier,
    images: torch.Tensor,
    views: Sequence[object | Callable[[torch.Tensor], torch.Tensor]],
    targets: Sequence[int | torch.Tensor],
    view_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (sample, view): sample, view, target, p_target, p_other, predicted, correct.

    View names default to each view's `name` attribute, else "view i".
    """
    if len(views) < 2 or len(views) != len(targets):
        raise ValueError("an illusion needs at least two views and one target per view")
    if view_names is None:  # part A views carry a name
        view_names = [getattr(v, "name", f"view {i}") for i, v in enumerate(views)]
    names = list(view_names)
    x = as_input(images).clamp(0, 1)
    n = len(x)
    probs = torch.stack([probabilities(classifier, apply_view(v, x)) for v in views], dim=1)
    tgt = torch.stack([_target_tensor(t, n) for t in targets], dim=1)  # [N, V]
    is_target = torch.nn.functional.one_hot(tgt, probs.shape[-1]).bool()  # [N, V, C]
    others = is_target.sum(dim=1, keepdim=True) - is_target.long()  # other views aiming at c
    is_other = (others > 0) & ~is_target
    p_target = probs.gather(2, tgt[..., None])[..., 0]
    p_other = torch.where(is_other, probs, torch.zeros_like(probs)).amax(dim=2)
    predicted = probs.argmax(dim=2)
    rows = []
    for s in range(n):
        for i, name in enumerate(names):
            rows.append({"sample": s, "view": name, "target": int(tgt[s, i]),
                         "p_target": float(p_target[s, i]), "p_other": float(p_other[s, i]),
                         "predicted": int(predicted[s, i]),
                         "correct": bool(predicted[s, i] == tgt[s, i])})
    return pd.DataFrame(rows)


def per_sample(scores: pd.DataFrame) -> pd.DataFrame:
    """alignment, concealment and success of each sample of an `illusion_scores` table."""
    margin = scores.assign(margin=scores["p_target"] - scores["p_other"])
    return margin.groupby("sample").agg(
        alignment=("p_target", "min"), concealment=("margin", "min"), success=("correct", "all")
    ).reset_index()


def illusion_summary(scores: pd.DataFrame) -> dict:
    """Means over samples: alignment, concealment, success_rate, and each view's p_target."""
    s = per_sample(scores)
    summary = {"samples": len(s), "alignment": float(s["alignment"].mean()),
               "concealment": float(s["concealment"].mean()),
               "success_rate": float(s["success"].mean())}
    by_view = scores.groupby("view", sort=False)["p_target"].mean()
    summary.update({f"p_target[{view}]": float(p) for view, p in by_view.items()})
    return summary


def hybrid_scores(
    classifier: DigitClassifier,
    images: torch.Tensor,
    lowpass: Callable[[torch.Tensor], torch.Tensor],
    far_target: int | torch.Tensor,
    near_target: int | torch.Tensor,
) -> pd.DataFrame:
    """`illusion_scores` of hybrid images: the low-passed image should read as far_target and
    the full image as near_target. `lowpass` must return 28x28 images (blur, or downsample and
    upsample again) and should be the filter the hybrids were made with."""
    return illusion_scores(classifier, images, [lowpass, lambda x: x], [far_target, near_target],
                           ["far (low-pass)", "near (full image)"])


def real_hybrids(
    lowpass: Callable[[torch.Tensor], torch.Tensor], far: torch.Tensor, near: torch.Tensor
) -> torch.Tensor:
    """Hybrids of real images, lowpass(far) + near - lowpass(near), clipped to [0, 1]: what a
    perfect hybrid sampler could make of the two digits, so their `hybrid_scores` bound what
    any sampled hybrid can reach under the same blur and judge."""
    far, near = as_input(far), as_input(near)
    return (lowpass(far) + near - lowpass(near)).clamp(0, 1)


def sdedit_class_retention(
    classifier: DigitClassifier,
    edits: Mapping[int, torch.Tensor],
    source_labels: torch.Tensor,
) -> pd.DataFrame:
    """For each i_start (edits[i_start]: the edits of the sources, in order): i_start, edits,
    kept_class (fraction still classified as the source digit) and p_source (its mean
    probability). A larger i_start adds less noise, so more of the source survives."""
    labels = source_labels.cpu().long()
    rows = []
    for i_start in sorted(edits):
        x = as_input(edits[i_start]).clamp(0, 1)
        if len(x) != len(labels):
            raise ValueError(f"i_start {i_start}: {len(x)} edits for {len(labels)} sources")
        probs = probabilities(classifier, x)
        rows.append({"i_start": i_start, "edits": len(x),
                     "kept_class": (probs.argmax(1) == labels).double().mean().item(),
                     "p_source": probs.gather(1, labels[:, None]).double().mean().item()})
    return pd.DataFrame(rows)
