# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Where things live, relative to the repository root (so CLIs work from any checkout)."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI and developers keep the data sets beside the repository, in ../shared.
SHARED_DIR = REPO_ROOT.parent / "shared"
DEFAULT_FER2013 = SHARED_DIR / "data" / "fer2013.csv.gz"
DEFAULT_UTKFACE = SHARED_DIR / "data" / "utkface_100px.tar"
DEFAULT_LFW = SHARED_DIR / "data" / "lfw_gender_112px.tar"
DEFAULT_FERPLUS_VOTES = SHARED_DIR / "data" / "ferplus_votes.csv"
DEFAULT_RAFDB = SHARED_DIR / "data" / "rafdb_basic_train_100px.tar.gz"
DEFAULT_EXPW = SHARED_DIR / "data" / "expw_faces_112px.tar.gz"
DEFAULT_FAIRFACE = SHARED_DIR / "data" / "fairface_val_1k_224px.tar.gz"
DEFAULT_ANCHOR_DIR = SHARED_DIR / "anchor"
# Everything derived from data (caches, runs) stays under the git-ignored build tree.
BUILD_DIR = REPO_ROOT / "build"
CACHE_DIR = BUILD_DIR / "cache"
RUNS_DIR = BUILD_DIR / "runs"
MODELS_DIR = REPO_ROOT / "face_perception" / "models"
EVAL_DIR = REPO_ROOT / "docs" / "evaluation"


def trained_run(run_dir: Path | None, task: str) -> tuple[Path, Path, dict]:
    """
    Return (model.keras, run.json, its record) of a training run.

    (model.keras, run.json, its record) of a training run (default build/runs/<task>); stops
    with one line naming the missing file.
    """
    import json

    run_dir = run_dir or RUNS_DIR / task
    model_path, record_path = run_dir / "model.keras", run_dir / "run.json"
    for needed in (model_path, record_path):
        if not needed.is_file():
            raise SystemExit(f"{needed} not found: train first (python -m training.fit.train --task {task})")
    return model_path, record_path, json.loads(record_path.read_text())


def run_provenance(model_path: Path, keys: tuple[str, ...]) -> dict:
    """
    Return the provenance of a trained model from the run.json beside it.

    ``{"model": path}`` plus ``keys`` from the run.json beside a trained model, when there is one
    (what a later run records about a model it starts from or learns from).
    """
    import json

    record = model_path.with_name("run.json")
    earlier = json.loads(record.read_text()) if record.is_file() else {}
    return {"model": str(model_path), **{k: earlier[k] for k in keys if k in earlier}}
