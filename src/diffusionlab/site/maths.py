"""The equations of the write-up, as LaTeX sources turned into MathML at build time.

Browsers render MathML natively, so the site shows its maths without scripts, fonts or network
access. Each equation has a short name; the catalogue of sections lists the names it shows.
Symbols follow the text: x_0 a clean image, x_t its noisy version at step t, abar_t the
cumulative product of alpha, eps_theta the noise estimate of the network given an image, a
step and a condition (a prompt p or a class c).
"""

from __future__ import annotations

from functools import cache

from latex2mathml.converter import convert
from markupsafe import Markup

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_ABAR = r"\bar{\alpha}"
_EPS = r"\epsilon_\theta"

EQUATIONS: dict[str, str] = {
    "forward": (
        rf"x_t = \sqrt{{{_ABAR}_t}}\,x_0 + \sqrt{{1 - {_ABAR}_t}}\,\epsilon,"
        r"\qquad \epsilon \thicksim \mathcal{N}(0, I)"
    ),
    "one_step": (
        rf"\hat{{x}}_0 = \frac{{x_t - \sqrt{{1 - {_ABAR}_t}}\,{_EPS}(x_t, t, p)}}"
        rf"{{\sqrt{{{_ABAR}_t}}}}"
    ),
    "iterative": (
        rf"x_{{t'}} = \frac{{\sqrt{{{_ABAR}_{{t'}}}}\,\beta_t}}{{1 - {_ABAR}_t}}\,\hat{{x}}_0"
        rf" + \frac{{\sqrt{{\alpha_t}}\,(1 - {_ABAR}_{{t'}})}}{{1 - {_ABAR}_t}}\,x_t + v_\sigma,"
        rf"\qquad \alpha_t = \frac{{{_ABAR}_t}}{{{_ABAR}_{{t'}}}},\quad \beta_t = 1 - \alpha_t"
    ),
    "cfg": (
        rf"\epsilon = {_EPS}(x_t, t, \varnothing)"
        rf" + \gamma\,\bigl({_EPS}(x_t, t, p) - {_EPS}(x_t, t, \varnothing)\bigr)"
    ),
    "inpainting": (
        r"x_t \leftarrow m \odot x_t + (1 - m) \odot"
        rf"\bigl(\sqrt{{{_ABAR}_t}}\,x_{{\text{{orig}}}} + \sqrt{{1 - {_ABAR}_t}}\,\epsilon\bigr)"
    ),
    "anagram": (
        rf"\epsilon = \tfrac{{1}}{{2}}\bigl({_EPS}(x_t, t, p_1)"
        rf" + f^{{-1}}\bigl({_EPS}(f(x_t), t, p_2)\bigr)\bigr),"
        r"\qquad f = \text{the image upside down (flipped or turned)}"
    ),
    "hybrid": (
        rf"\epsilon = G_\sigma * \epsilon_1 + \bigl(\epsilon_2 - G_\sigma * \epsilon_2\bigr),"
        rf"\qquad \epsilon_i = {_EPS}(x_t, t, p_i)"
    ),
    "views": (
        rf"\epsilon = \frac{{1}}{{N}}\sum_{{i=1}}^{{N}} v_i^{{-1}}"
        rf"\bigl({_EPS}(v_i(x_t), t, p_i)\bigr)"
    ),
    "noising": r"z = x + \sigma\,\epsilon,\qquad \epsilon \thicksim \mathcal{N}(0, I)",
    "denoiser_loss": r"L = \left\| D_\theta(x + \sigma\,\epsilon) - x \right\|^2",
    "ddpm_loss": (
        rf"L = \left\| {_EPS}\bigl(\sqrt{{{_ABAR}_t}}\,x_0 + \sqrt{{1 - {_ABAR}_t}}\,\epsilon,"
        r"\ t / T\bigr) - \epsilon \right\|^2,\qquad t \in \{0, \dots, T - 1\}"
    ),
    "ddpm_step": (
        rf"x_{{t-1}} = \frac{{1}}{{\sqrt{{\alpha_t}}}}\Bigl(x_t - \frac{{\beta_t}}"
        rf"{{\sqrt{{1 - {_ABAR}_t}}}}\,{_EPS}(x_t, t / T)\Bigr) + \sigma_t\,z,"
        r"\qquad z \thicksim \mathcal{N}(0, I)"
    ),
    "ddpm_variance": (
        rf"\sigma_t^2 = \beta_t \quad\text{{or}}\quad \sigma_t^2 = \tilde{{\beta}}_t"
        rf" = \frac{{1 - {_ABAR}_{{t-1}}}}{{1 - {_ABAR}_t}}\,\beta_t"
    ),
    "class_loss": (
        rf"L = \left\| {_EPS}(x_t, t / T, b\,c) - \epsilon \right\|^2,"
        r"\qquad b = 0 \text{ with probability } p_{\text{uncond}},\ \text{else } 1"
    ),
    "class_cfg": (
        rf"\epsilon = {_EPS}(x_t, t, 0) + \gamma\,\bigl({_EPS}(x_t, t, c) - {_EPS}(x_t, t, 0)\bigr)"
    ),
}


@cache
def mathml(name: str) -> Markup:
    """The named equation as a block of MathML, safe to insert into a page."""
    try:
        source = EQUATIONS[name]
    except KeyError:
        raise KeyError(f"no equation named {name!r}; known: {', '.join(EQUATIONS)}") from None
    # HTML needs no namespace on <math>; leaving it out keeps the pages free of any URL
    return Markup(convert(source, display="block").replace(f' xmlns="{MATHML_NS}"', "", 1))
