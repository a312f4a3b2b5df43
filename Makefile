# keyframer: `make run` sets up everything and converts the bundled sample; `make test` tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out
RUNNER ?= DirectRunner

.PHONY: venv run test lint format sample bench bench-quick clean stream-demo

$(STAMP): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

## Convert the bundled sample (samples/sample.parquet) into ./out and print the summary.
run: $(STAMP)
	$(PY) -m pipeline --input samples/sample.parquet --output $(OUT) --frame_base 1 \
		--runner $(RUNNER) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Regenerate the bundled sample (Parquet and Avro) from samples/make_sample.py.
sample: $(STAMP)
	$(PY) -m samples.make_sample

## Benchmarks: figures are printed, never asserted.
bench: $(STAMP)
	$(PY) -m bench.run $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(PY) -m bench.run --quick

clean:
	rm -rf $(OUT) bench/data bench/out .pytest_cache

## The local watch mode (--streaming locally) on a folder while a generator drops one file per
## video over ~30 s: prints each video's latency as its batch file is written, then p50/p95.
stream-demo: $(STAMP)
	$(PY) -m bench.stream_demo $(DEMO_ARGS)
