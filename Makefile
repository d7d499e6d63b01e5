# One-command entry points. Each target creates the virtual environment when it is missing.
#   make report               the write-up: reference settings on a CUDA machine, else the
#                             embedded CPU default (presets/laptop.yaml); PRESET= overrides
#   make publish              the write-up packed in dist/ (zip and gh-pages folder)
#   make test                 unit tests and an end-to-end run on the tiny preset
#   make lint                 ruff, snakefmt and snakemake --lint

VENV ?= .venv
PYTHON ?= python3
PRESET ?= auto
CORES ?= all
BIN := $(VENV)/bin

.PHONY: setup fashion-mnist report publish test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed fashion-mnist

# Fashion-MNIST for offline use: Debian's package, installed where apt-get works (as root or
# through password-less sudo); elsewhere one line says how to get it, and setup goes on.
FASHION_MNIST := /usr/share/datasets/fashion-mnist
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo -n apt-get)
fashion-mnist:
	@[ -d $(FASHION_MNIST) ] || ! command -v apt-get >/dev/null || \
	  { $(APT) install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	    { $(APT) update -qq >/dev/null 2>&1 && \
	      $(APT) install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }; } || true
	@[ -d $(FASHION_MNIST) ] || echo "make setup: Fashion-MNIST is not installed (optional;" \
	  "offline copy: sudo apt-get install dataset-fashion-mnist)"

# The preset: reference on a machine with a CUDA GPU, the CPU-sized laptop preset otherwise.
CHOOSE_PRESET = preset="$(PRESET)"; \
	if [ "$$preset" = auto ]; then \
	  if $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; \
	  then preset=reference; else preset=laptop; fi; \
	fi; \
	if [ "$$preset" = reference ]; then extra=""; else extra="--configfile presets/$$preset.yaml"; fi; \
	echo "make $@: preset $$preset"

report: setup
	@$(CHOOSE_PRESET); $(BIN)/snakemake report --cores $(CORES) --resources gpu=1 $$extra

# dist/report.zip and dist/gh-pages/ from the write-up (built first when missing).
publish: setup
	@$(CHOOSE_PRESET); $(BIN)/snakemake publish --cores $(CORES) --resources gpu=1 $$extra

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint --configfile presets/ci.yaml

clean:
	rm -rf results report logs .snakemake
