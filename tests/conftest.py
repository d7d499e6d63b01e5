"""Shared test settings."""

import torch

# Tests run tiny networks: one thread avoids threads fighting over the cores (2 in CI), which
# makes small convolutions many times slower. End-to-end runs use Snakemake's own threads.
torch.set_num_threads(1)
