# face_perception: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# The demo and the tests keep all DDS traffic on this machine with
# config/fastdds_local_only.xml (see docs/deployment.md, "DDS").
export PYTHONUNBUFFERED := 1

.PHONY: setup setup-dev demo test test-quick train evaluate benchmark clean

setup:
	scripts/setup/setup_env.sh

setup-dev:
	scripts/setup/setup_env.sh --dev

## Set up (runtime only) and run the whole graph on the embedded demo sequence.
demo: setup
	$(PYTHON) -m face_perception.bringup.demo --output out/demo

## Set up (with test dependencies) and run every test.
test: setup-dev
	$(PYTHON) -m pytest -ra test

## The developer's fast loop: the library tests without a ROS graph, ../shared/data or
## long runs (markers in pytest.ini). Sets up the venv only when it has no python yet, so
## the loop itself reinstalls nothing (`make setup-dev` updates it).
test-quick: | $(PYTHON)
	$(PYTHON) -m pytest -ra -m "not ros and not slow and not data" test

$(PYTHON):
	scripts/setup/setup_env.sh --dev

## Retrain, export and evaluate the shipped models (needs ../shared/data; several hours on
## 2 cores; see training/README.md for the measured times of each run).
## Gender and age end with a run through the node's framing (faces re-detected with BlazeFace,
## cut by face_perception.classification.framing, robot-view augmentation; gender on UTKFace + LFW).
## Emotion: two teachers (FER+ vote distributions; original labels), the student distilled from
## their ensemble on FER-2013's own chips, then fine-tuned through the node's framing (FER-2013
## re-detected; size and centre are FER-2013's own chip framing, scripts/measurements/calibrate_framing.py)
## with robot-view augmentation and sqrt class weights; then fine-tuned on FER-2013+FER+ and RAF-DB
## together (both re-detected and cut the node's way, sqrt class and set weights); then on all three sets
## together, ExpW's class-balanced in-the-wild faces added (same framing, weights and augmentation), averaged weight by
## weight with the model it started from (training.fit.weight_average); each stage's prior correction and the
## average's share are chosen on validation and folded into the model. Age ends with a prior correction
## against the squeeze of children and seniors toward the middle ages, chosen on FairFace validation.
## (RAF-DB pseudo-labels, training.fit.pseudo_labels, were tried for gender and age and did not help on
## FairFace validation: training/README.md, "Faces without labels".)
train: setup-dev
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --epochs 60 --l2 0.0001 --targets original --out build/runs/emotion_original
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --epochs 12 --l2 0.0001 --augment layers --targets ferplus_soft --out build/runs/emotion_ferplus_soft
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --epochs 16 --l2 0.0001 --augment layers --photometric 0.2 --targets ferplus_soft \
		--teacher build/runs/emotion_ferplus_soft/model.keras --teacher build/runs/emotion_original/model.keras --distill-alpha 0.7 --out build/runs/emotion
	$(PYTHON) -m training.fit.logit_adjust --task emotion --run build/runs/emotion
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --framing eyes_mouth --framing-size 2.67 --framing-center 0.28 \
		--sets fer2013 --augment robot --targets ferplus_soft --class-weight sqrt --epochs 15 --lr 1e-3 --warmup-epochs 0.3 --l2 0.0001 \
		--init-weights build/runs/emotion_adjusted/model.keras --out build/runs/emotion_framed --max-minutes 100
	$(PYTHON) -m training.fit.logit_adjust --task emotion --run build/runs/emotion_framed
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --framing eyes_mouth --framing-size 2.67 --framing-center 0.28 \
		--sets fer2013 rafdb --augment robot --targets ferplus_soft --class-weight sqrt --set-weight sqrt --epochs 7 --lr 1e-3 \
		--warmup-epochs 0.3 --l2 0.0001 --init-weights build/runs/emotion_framed_adjusted/model.keras --out build/runs/emotion_wild --max-minutes 85
	$(PYTHON) -m training.fit.logit_adjust --task emotion --run build/runs/emotion_wild
	$(PYTHON) -m training.fit.train --task emotion --arch mini_xception_wide --framing eyes_mouth --framing-size 2.67 --framing-center 0.28 \
		--sets fer2013 rafdb expw --augment robot --targets ferplus_soft --class-weight sqrt --set-weight sqrt --epochs 8 --lr 1e-3 \
		--warmup-epochs 0.3 --l2 0.0001 --init-weights build/runs/emotion_wild_adjusted/model.keras --out build/runs/emotion_three --max-minutes 95
	$(PYTHON) -m training.fit.logit_adjust --task emotion --run build/runs/emotion_three
	$(PYTHON) -m training.fit.weight_average --task emotion --run build/runs/emotion_three_adjusted
	$(PYTHON) -m training.fit.train --task gender --arch mini_xception_wide --epochs 26 --l2 0.0001 --augment layers --out build/runs/gender_base
	$(PYTHON) -m training.fit.train --task gender --arch mini_xception_wide --framing eyes_mouth --augment robot --epochs 10 --lr 1e-3 --warmup-epochs 0.3 \
		--l2 0.0001 --class-weight sqrt --init-weights build/runs/gender_base/model.keras --out build/runs/gender
	$(PYTHON) -m training.fit.train --task age --arch mini_xception_wide --epochs 15 --l2 0.0001 --augment layers --out build/runs/age_base
	$(PYTHON) -m training.fit.train --task age --arch mini_xception_wide --epochs 7 --lr 6e-4 --warmup-epochs 0.3 --l2 0.0001 --augment layers --init-weights build/runs/age_base/model.keras --out build/runs/age_unframed
	$(PYTHON) -m training.fit.train --task age --arch mini_xception_wide --framing eyes_mouth --augment robot --epochs 6 --lr 6e-4 --warmup-epochs 0.3 \
		--l2 0.0001 --init-weights build/runs/age_unframed/model.keras --out build/runs/age
	$(PYTHON) -m training.fit.logit_adjust --task age --run build/runs/age
	$(PYTHON) -m training.models.export --task emotion --run build/runs/emotion_three_adjusted_averaged
	$(PYTHON) -m training.models.export --task gender
	$(PYTHON) -m training.models.export --task age --run build/runs/age_adjusted
	# export writes a new age card without child_calibration: fit it again for the new model (validation only).
	$(PYTHON) -m training.fit.child_calibration --write-card
	$(MAKE) evaluate

## Evaluation reports (docs/evaluation/), with the paper's models side by side when ../shared/anchor exists;
## the end-to-end reports paste test faces into camera frames and run the node's pipeline (training.evaluation.end_to_end).
evaluate: setup-dev
	$(PYTHON) -m training.evaluation.evaluate --task emotion
	$(PYTHON) -m training.evaluation.evaluate --task gender
	$(PYTHON) -m training.evaluation.evaluate --task age
	$(PYTHON) -m training.evaluation.end_to_end --task gender --split test --limit 1000 --paper --sizes 96 48 24 --json docs/evaluation/gender_end_to_end.json
	$(PYTHON) -m training.evaluation.end_to_end --task age --split test --limit 600 --sizes 96 48 --json docs/evaluation/age_end_to_end.json
	$(PYTHON) -m training.evaluation.end_to_end --task age --split test --sizes 96 48 --json docs/evaluation/is_child_utkface.json
	$(PYTHON) -m training.evaluation.fairface_report --split test --card --json docs/evaluation/fairface_test.json
	$(PYTHON) -m training.evaluation.end_to_end --task emotion --split test --limit 2400 --paper --sizes 160 96 48 --card --json docs/evaluation/emotion_end_to_end.json

## Speed, memory, recall and footprint against the seed paper's demo path (docs/benchmark.md).
benchmark: setup-dev
	$(PYTHON) scripts/benchmarks/benchmark.py --json out/benchmark.json

clean:
	rm -rf build log install out .pytest_cache
