"""Rules report and publish: the write-up as a static site, and the site packed for sharing."""

from diffusionlab.jobrunner import run_job
from diffusionlab.site import publish
from diffusionlab.site.exercise import build_report


def pack(site: str, archive: str, pages: str) -> None:
    for path in publish(site, archive=archive, pages=pages):
        print(f"wrote {path}")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    if sm.params.job == "render":
        files = {k: v for k, v in sm.input.items() if k not in ("code", "templates")}
        run_job(build_report, sm.log[0], files, sm.output.site, **sm.params.args)
    else:
        run_job(pack, sm.log[0], sm.input.site, sm.output.archive, sm.output.pages)
