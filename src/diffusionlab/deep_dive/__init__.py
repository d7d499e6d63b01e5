"""The deep dive (issue 11): part B's diffusion on other image data, one run per data set.

`runs` turns the `datasets:` and `deep_dive:` config sections into the plain values of each
job (cheap: no torch, the rules read it while Snakemake parses them); `draw` samples a trained
checkpoint and keeps the frames the figures need; `figures` draws the sample grids, the
write-up's "summary" and "detailed sampling" figures and the animations; `metrics` measures
memorisation (nearest training image of every sample) and a single image's PSNR.
"""
