"""Rule part_a_input: one input image of part A, at the size and channels of its backend."""

from diffusionlab.jobs import run_job
from diffusionlab.part_a.jobs import resolve_input, save_input


def main(source: str, shape: tuple[int, int], dark_background: bool, out: str,
         data: str | None = None) -> None:
    size, channels = shape
    save_input(resolve_input(source, size, channels, data, dark_background), out)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    run_job(main, sm.log[0], sm.params.source, sm.params.shape, sm.params.dark_background,
            sm.output.image, sm.input.get("data"))
