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

"""
Train a face classifier (emotion on FER-2013, gender on UTKFace) and save the float model.

    python -m training.fit.train --task emotion --epochs 80
    python -m training.fit.train --task gender --epochs 20

Writes ``build/runs/<task>/``: ``model.keras`` (best validation accuracy, without the
augmentation layers), ``history.csv`` and ``run.json`` (provenance for the model card).
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Sequence

from training.data.tasks import COLORS, TASKS
from training.fit.trainer import TARGETS, train


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--data", type=Path, default=None,
                   help="FER-2013 CSV/folder (emotion) or UTKFace tar/folder (gender); "
                        "default ../shared/data/... beside the repository")
    p.add_argument("--out", type=Path, default=None, help="run folder (default build/runs/<task>)")
    p.add_argument("--arch", default="mini_xception",
                   help="mini_xception (paper, ~58k params), mini_xception_wide (<100k), simple_cnn")
    p.add_argument("--input-size", type=int, default=48)
    p.add_argument("--color", choices=COLORS, default="gray",
                   help="model input: gray (one channel) or rgb (three, R, G, B; UTKFace tasks only, "
                        "FER-2013 is grey)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--lr-schedule", choices=("cosine", "plateau"), default="cosine",
                   help="cosine: warm-up then cosine decay over --epochs; plateau: the paper's "
                        "reduce-on-plateau (factor 0.1, patience --patience/4)")
    p.add_argument("--warmup-epochs", type=float, default=2.0)
    p.add_argument("--l2", type=float, default=1e-4,
                   help="L2 on conv kernels (the paper used 0.01, which underfits with this schedule)")
    p.add_argument("--bn-momentum", type=float, default=0.99, help="BatchNorm moving-average momentum")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the NumPy cache")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--label-smoothing", type=float, default=None,
                   help="default 0.1 for one-hot labels, 0 for vote or age distributions")
    p.add_argument("--targets", choices=TARGETS, default="auto",
                   help="emotion: original FER-2013 labels, FER+ vote distributions (ferplus_soft) or FER+ "
                        "majority labels; auto = ferplus_soft when the FER+ votes are there, else original. "
                        "Age always learns a Gaussian over age bins; gender its labels")
    p.add_argument("--mix-original", type=float, default=0.0,
                   help="with FER+ targets: weight of the original FER-2013 label mixed into the target")
    p.add_argument("--teacher", type=Path, action="append", default=None,
                   help="distil from this trained .keras model (training.fit.distill): its flip-averaged "
                        "probabilities on each training face are blended into the targets; give it more than "
                        "once for an ensemble teacher (probabilities averaged)")
    p.add_argument("--distill-alpha", type=float, default=0.5,
                   help="with --teacher: weight of the teacher's probabilities in each target")
    p.add_argument("--votes", type=Path, default=None,
                   help="FER+ votes CSV (default ../shared/data/ferplus_votes.csv beside the repository)")
    p.add_argument("--class-weight", choices=("none", "balanced", "sqrt"), default="none",
                   help="weight rare classes (e.g. disgust): balanced = n/(k*n_c), sqrt = its square root")
    p.add_argument("--augment", choices=("loader", "layers", "robot", "none"), default="loader",
                   help="random shift/zoom/rotation/flip in the data loader (OpenCV, fast on any "
                        "backend), as Keras layers in the training graph, 'robot' (needs --framing: each face "
                        "cut afresh with framing jitter, low resolution, blur, JPEG, light; training.data.robot_view), "
                        "or none")
    p.add_argument("--framing", choices=("none", "eyes_mouth"), default="none",
                   help="eyes_mouth: re-detect every image with the node's detector and cut it with the node's "
                        "framing function (face_perception.classification.framing, its defaults; recorded in the "
                        "card's input.framing); gender then also trains on LFW (--lfw). none: resize the data set's "
                        "image")
    p.add_argument("--framing-size", type=float, default=None,
                   help="with --framing eyes_mouth: crop side in face scales (default the framing's, UTKFace's own)")
    p.add_argument("--framing-center", type=float, default=None,
                   help="with --framing eyes_mouth: crop centre between eyes (0) and mouth (1)")
    p.add_argument("--lfw", type=Path, default=None,
                   help="with --framing and --task gender: LFW gender tar"
                        " (default ../shared/data/lfw_gender_112px.tar)")
    p.add_argument("--sets", nargs="+", default=None, metavar="SET",
                   help="with --framing and --task emotion: the data sets to join (fer2013 = FER-2013 with FER+ "
                        "votes, rafdb = RAF-DB basic); default both, or fer2013 alone with --data")
    p.add_argument("--rafdb", type=Path, default=None,
                   help="RAF-DB basic tar (default ../shared/data/rafdb_basic_train_100px.tar.gz)")
    p.add_argument("--pseudo", type=Path, default=None,
                   help="gender/age with --framing: RAF-DB faces pseudo-labelled by training.fit.pseudo_labels (.npz) "
                        "join the training split")
    p.add_argument("--set-weight", choices=("none", "balanced", "sqrt"), default="none",
                   help="with several data sets: weight each set's faces so a small set counts more "
                        "(balanced = n/(k*n_set), sqrt = its square root), times any --class-weight")
    p.add_argument("--photometric", type=float, default=0.0,
                   help="with --augment layers: strength of random contrast and brightness (0 = off)")
    p.add_argument("--patience", type=int, default=50, help="early stopping on validation accuracy")
    p.add_argument("--max-minutes", type=float, default=90.0,
                   help="stop after the epoch that crosses this wall-clock budget")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training rows (smoke tests)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--init-weights", type=Path, default=None,
                   help="start from this .keras model's weights (same --arch, input and classes): a second, "
                        "lower --lr schedule continues an earlier run")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for the TensorFlow backend (0 = its default, one per core); 1 lets two "
                        "runs share a 2-core machine without their thread pools spinning against each other")
    p.add_argument("--record-interrupted", type=float, default=None, metavar="MINUTES",
                   help="write run.json for a run in --out that was stopped before its last epoch (its best "
                        "checkpoint model.keras and history.csv are there): same arguments as the run, plus the "
                        "minutes it trained; nothing is trained. New runs end cleanly after the epoch during "
                        "which a file STOP appears in --out")
    p.add_argument("--verbose", default="auto", help="Keras fit verbosity: auto, 0, 1 (bars), 2 (one line/epoch)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
