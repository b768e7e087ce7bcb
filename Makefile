# face_perception: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# The demo and the tests keep all DDS traffic on this machine with
# config/fastdds_local_only.xml (see README, "DDS").
export PYTHONUNBUFFERED := 1

.PHONY: setup setup-dev demo test train evaluate benchmark clean

setup:
	scripts/setup_env.sh

setup-dev:
	scripts/setup_env.sh --dev

## Set up (runtime only) and run the whole graph on the embedded demo sequence.
demo: setup
	$(PYTHON) -m face_perception.demo --output out/demo

## Set up (with test dependencies) and run every test.
test: setup-dev
	$(PYTHON) -m pytest -ra test

## Retrain, export and evaluate the shipped models (needs ../shared/data; several hours on
## 2 cores; see training/README.md for the measured times of each run).
## Emotion: two teachers (FER+ vote distributions; original labels), the student distilled from
## their ensemble, then the prior correction chosen on validation and folded into the model.
train: setup-dev
	$(PYTHON) -m training.train --task emotion --arch mini_xception_wide --epochs 60 --l2 0.0001 --targets original --out build/runs/emotion_original
	$(PYTHON) -m training.train --task emotion --arch mini_xception_wide --epochs 12 --l2 0.0001 --augment layers --targets ferplus_soft --out build/runs/emotion_ferplus_soft
	$(PYTHON) -m training.train --task emotion --arch mini_xception_wide --epochs 16 --l2 0.0001 --augment layers --photometric 0.2 --targets ferplus_soft \
		--teacher build/runs/emotion_ferplus_soft/model.keras --teacher build/runs/emotion_original/model.keras --distill-alpha 0.7 --out build/runs/emotion
	$(PYTHON) -m training.logit_adjust --task emotion --run build/runs/emotion
	$(PYTHON) -m training.train --task gender --arch mini_xception_wide --epochs 26 --l2 0.0001 --augment layers
	$(PYTHON) -m training.train --task age --arch mini_xception_wide --epochs 15 --l2 0.0001 --augment layers --out build/runs/age_base
	$(PYTHON) -m training.train --task age --arch mini_xception_wide --epochs 7 --lr 6e-4 --warmup-epochs 0.3 --l2 0.0001 --augment layers --init-weights build/runs/age_base/model.keras
	$(PYTHON) -m training.export --task emotion --run build/runs/emotion_adjusted
	$(PYTHON) -m training.export --task gender
	$(PYTHON) -m training.export --task age
	$(MAKE) evaluate

## Evaluation reports (docs/evaluation/), with the paper's models side by side when ../shared/anchor exists.
evaluate: setup-dev
	$(PYTHON) -m training.evaluate --task emotion
	$(PYTHON) -m training.evaluate --task gender
	$(PYTHON) -m training.evaluate --task age

## Speed, memory, recall and footprint against the seed paper's demo path (docs/benchmark.md).
benchmark: setup-dev
	$(PYTHON) scripts/benchmark.py --json out/benchmark.json

clean:
	rm -rf build log install out .pytest_cache
