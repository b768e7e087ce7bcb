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
One training run: targets, class weights, the learning-rate schedule, callbacks and the run record.

The run record (run.json) holds the command, the git commit, the machine and the minutes.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
import json
import math
import os
from pathlib import Path
import platform
import shlex
import subprocess
import sys
import time
from typing import Any, Sequence

import numpy as np

from face_perception.classification.framing import EyesMouthFraming

from training.data.preprocess import normalize, OFFSET, SCALE
from training.data.tasks import check_color, load_task_data
from training.paths import CACHE_DIR, REPO_ROOT, run_provenance, RUNS_DIR


TARGETS = ("auto", "original", "ferplus_soft", "ferplus_majority")


def resolve_targets(task: str, requested: str, has_ferplus: bool) -> str:
    """Return the target kind a run trains on (recorded in run.json and the card)."""
    if task == "age":
        return "age_distribution"
    if task == "gender" or requested == "original" or (requested == "auto" and not has_ferplus):
        if requested.startswith("ferplus") and task != "emotion":
            raise SystemExit(f"--targets {requested} is for --task emotion")
        return "original"
    if not has_ferplus:
        raise SystemExit(f"--targets {requested} needs the FER+ votes (--votes)")
    return "ferplus_soft" if requested == "auto" else requested


def training_targets(split, kind: str, num_classes: int, mix_original: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(row indices to train on, float targets [n, num_classes]) for a training split."""
    eye = np.eye(num_classes, dtype=np.float32)
    if kind == "age_distribution":
        from training.data.age import soft_targets
        return np.arange(len(split)), soft_targets(split.extra["age"])
    if kind == "original":
        return np.arange(len(split)), eye[split.labels]
    if kind == "ferplus_soft":
        keep = np.flatnonzero(split.extra["ferplus_soft"].sum(axis=1) > 0)
        targets = split.extra["ferplus_soft"][keep]
    else:
        keep = np.flatnonzero(split.extra["ferplus_majority"] >= 0)
        targets = eye[split.extra["ferplus_majority"][keep]]
    if mix_original:
        targets = (1.0 - mix_original) * targets + mix_original * eye[split.labels[keep]]
    return keep, targets.astype(np.float32)


def validation_set(split, kind: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the rows and one-hot labels the checkpoint is chosen on.

    (row indices, one-hot labels) the checkpoint is chosen on: FER+ majority labels for FER+
    runs, the age bin for age (the age callback scores years), the labels otherwise.
    """
    eye = np.eye(num_classes, dtype=np.float32)
    if kind.startswith("ferplus") or (kind == "original" and "ferplus_majority" in split.extra):
        keep = np.flatnonzero(split.extra["ferplus_majority"] >= 0)
        return keep, eye[split.extra["ferplus_majority"][keep]]
    return np.arange(len(split)), eye[split.labels]


def class_weights(labels: np.ndarray, num_classes: int, mode: str) -> dict[int, float] | None:
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1.0))
    if mode == "sqrt":
        weights = np.sqrt(weights)
    return {i: float(w) for i, w in enumerate(weights)}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "training"], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty-training" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    accel = "no GPU"
    if keras.backend.backend() == "jax":
        import jax
        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        accel = ", ".join(gpus) if gpus else accel
    return (f"{platform.system()} {platform.machine()}, {cpu}, {len(os.sched_getaffinity(0))} CPU cores, "
            f"{accel}; Keras {keras.__version__} backend {keras.backend.backend()}")


def make_callbacks(args: argparse.Namespace, core, out: Path, start: float,
                   age_validation: tuple[np.ndarray, np.ndarray, list[float]] | None = None) -> list:
    import keras

    class AgeError(keras.callbacks.Callback):
        """Validation mean absolute error in years of the expected age (logged as val_age_mae)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            from training.data.age import expected_age
            x, ages, centers = age_validation
            probabilities = core.predict(x, batch_size=256, verbose=0)
            mae = float(np.mean(np.abs(expected_age(probabilities, centers) - ages)))
            if logs is not None:
                logs["val_age_mae"] = mae
            print(f" - val_age_mae {mae:.3f} years", flush=True)

    class SaveBestCore(keras.callbacks.Callback):
        """
        Save the exportable core model on each validation best.

        Save the exportable core model (no augmentation layers) on each validation best:
        highest val_accuracy, or lowest val_age_mae for age.
        """

        def __init__(self, monitor: str = "val_accuracy", sign: float = 1.0) -> None:
            super().__init__()
            self.monitor, self.sign = monitor, sign
            self.best = -math.inf
            self.best_epoch = -1

        @property
        def best_value(self) -> float:
            return self.sign * self.best

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            value = self.sign * (logs or {}).get(self.monitor, -math.inf * self.sign)
            if value > self.best:
                self.best, self.best_epoch = value, epoch + 1
                core.save(out / "model.keras")

    class TimeBudget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if (time.monotonic() - start) / 60.0 > args.max_minutes:
                print(f"time budget of {args.max_minutes} min reached after epoch {epoch + 1}", flush=True)
                self.model.stop_training = True
            if (out / "STOP").exists():
                print(f"{out / 'STOP'} found: stopping after epoch {epoch + 1}", flush=True)
                self.model.stop_training = True

    monitor, mode = ("val_age_mae", "min") if age_validation is not None else ("val_accuracy", "max")
    # The age callback must run before the ones that read its log entry.
    callbacks = ([AgeError()] if age_validation is not None else []) + [
        SaveBestCore(monitor, -1.0 if mode == "min" else 1.0), keras.callbacks.CSVLogger(str(out / "history.csv")),
        TimeBudget(), keras.callbacks.EarlyStopping(monitor, patience=args.patience, mode=mode)]
    if args.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.1,
                                                           patience=max(2, args.patience // 4), verbose=1))
    return callbacks


def learning_rate(args: argparse.Namespace, steps_per_epoch: int):
    import keras
    if args.lr_schedule == "plateau":
        return args.lr
    warmup = int(args.warmup_epochs * steps_per_epoch)
    total = args.epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr / 100.0, decay_steps=max(1, total - warmup), alpha=0.005,
        warmup_target=args.lr, warmup_steps=warmup)


def train(args: argparse.Namespace) -> dict[str, Any]:
    check_color(args.task, args.color)  # before the slow imports: one line and out
    import keras

    from training.data.augment import AugmentedBatches, build_augmentation
    from training.models.architectures import build_model

    if args.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    keras.utils.set_random_seed(args.seed)
    out = args.out or RUNS_DIR / args.task
    out.mkdir(parents=True, exist_ok=True)
    framing = None
    if args.framing == "eyes_mouth":
        defaults = EyesMouthFraming()
        framing = EyesMouthFraming(size=args.framing_size or defaults.size,
                                   center=defaults.center if args.framing_center is None else args.framing_center)
    if args.augment == "robot" and framing is None:
        raise SystemExit("--augment robot cuts faces with the node's framing: give --framing eyes_mouth")
    dataset = load_task_data(args.task, args.data, side=args.input_size,
                             cache_dir=None if args.no_cache else CACHE_DIR, votes=args.votes, color=args.color,
                             framing=None if framing is None else framing.describe(), lfw=args.lfw,
                             emotion_sets=args.sets, rafdb=args.rafdb, pseudo=args.pseudo)
    channels = 3 if args.color == "rgb" else 1
    train_split, val_split = dataset.splits["train"], dataset.splits["validation"]
    num_classes = len(dataset.labels)
    targets = resolve_targets(args.task, args.targets, "ferplus_soft" in train_split.extra)
    train_rows, y_train = training_targets(train_split, targets, num_classes, args.mix_original)
    if args.limit:
        order = np.random.default_rng(args.seed).permutation(len(train_rows))[: args.limit]
        train_rows, y_train = train_rows[order], y_train[order]
    train_images, train_labels = train_split.images[train_rows], y_train.argmax(axis=1)
    extra_card: dict[str, Any] = {}
    if args.teacher is not None:
        from training.fit import distill
        teachers = [distill.load_teacher(path, args.input_size, len(dataset.labels), channels)
                    for path in args.teacher]
        teacher_probs = distill.teacher_probabilities(teachers, train_images)
        extra_card["teacher"] = distill.teacher_record(args.teacher, teachers, args.distill_alpha, y_train,
                                                       teacher_probs)
        y_train = distill.blend_targets(y_train, teacher_probs, args.distill_alpha)
        del teachers
    val_rows, y_val = validation_set(val_split, targets, num_classes)
    x_val = normalize(val_split.images[val_rows])
    age_validation = None
    if targets == "age_distribution":
        from training.data.age import bin_centers
        # The bins' centres come from labelled ages only (pseudo-labels are the teacher's expectations).
        labelled = ~train_split.extra.get("pseudo_labelled", np.zeros(len(train_split), bool))[train_rows]
        centers = bin_centers(train_split.extra["age"][train_rows][labelled])
        age_validation = (x_val, val_split.extra["age"][val_rows], centers)
        extra_card["age_bins"] = {"edges_years": list(dataset.info["age_bin_edges"]), "centers_years": centers}
    label_smoothing = args.label_smoothing
    if label_smoothing is None:
        soft = targets in ("ferplus_soft", "age_distribution") or args.teacher is not None
        label_smoothing = 0.0 if soft else 0.1

    shape = (args.input_size, args.input_size, channels)
    core = build_model(args.arch, shape, num_classes, dropout=args.dropout, l2=args.l2,
                       bn_momentum=args.bn_momentum)
    if args.init_weights is not None:
        if not args.init_weights.is_file():
            raise SystemExit(f"--init-weights {args.init_weights} not found")
        core.set_weights(keras.models.load_model(args.init_weights, compile=False).get_weights())
    inputs = keras.Input(shape=shape, name="image")
    if args.augment == "layers":
        augmentation = build_augmentation(photometric=args.photometric, seed=args.seed)
        trainer = keras.Model(inputs, core(augmentation(inputs)), name=f"{core.name}_train")
    else:
        trainer = core
    weights = class_weights(train_labels, num_classes, args.class_weight)
    sample_weights = None if weights is None else np.array([weights[c] for c in train_labels], np.float32)
    if args.set_weight != "none" and "source_set" in train_split.extra:
        sets = train_split.extra["source_set"][train_rows]
        codes = np.unique(sets, return_inverse=True)[1]
        per_set = class_weights(codes, int(codes.max()) + 1, args.set_weight)
        set_weights = np.array([per_set[c] for c in codes], np.float32)
        sample_weights = set_weights if sample_weights is None else sample_weights * set_weights
        extra_card["set_weights"] = {str(int(code)): round(w, 4) for code, w in
                                     zip(np.unique(sets), per_set.values())}
    if args.augment == "robot":
        from training.data.robot_view import FramedBatches
        batches = FramedBatches(train_split.extra["source"][train_rows], train_split.extra["keypoints"][train_rows],
                                y_train, args.batch_size, args.seed, framing, args.input_size, args.color,
                                sample_weights=sample_weights)
    else:
        batches = AugmentedBatches(train_images, y_train, args.batch_size, args.seed,
                                   augment=args.augment == "loader", sample_weights=sample_weights)
    steps = len(batches)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate(args, steps)),
                    loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                    metrics=["accuracy"])
    core.summary(print_fn=lambda line, **_: print(line))
    print(f"train {len(train_images)}  validation {len(x_val)}  targets {targets}  classes {dataset.labels}  "
          f"params {core.count_params()}", flush=True)

    start = time.monotonic()
    callbacks = make_callbacks(args, core, out, start, age_validation)
    best = next(c for c in callbacks if hasattr(c, "best_epoch"))
    if args.record_interrupted is not None:
        epochs_run = _interrupted_best(out, best)
        minutes = args.record_interrupted
        extra_card["interrupted"] = {
            "stopped_after_epoch": epochs_run, "of_epochs": args.epochs,
            "note": "stopped for time before its last epoch; the best checkpoint so far is the model, and this "
                    "record was written afterwards from history.csv by --record-interrupted"}
    else:
        verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
        history = trainer.fit(batches, epochs=args.epochs, validation_data=(x_val, y_val),
                              validation_batch_size=256, callbacks=callbacks, verbose=verbose)
        epochs_run = len(history.history["loss"])
        minutes = (time.monotonic() - start) / 60.0
    run = {
        "task": args.task,
        "labels": dataset.labels,
        "dataset": dataset.name,
        "dataset_info": dataset.info,
        "split_counts": dataset.counts(),
        "train_class_counts": dict(zip(dataset.labels, np.bincount(train_labels, minlength=num_classes).tolist())),
        "targets": targets,
        "trained_faces": int(len(train_images)),
        "validation_faces": int(len(x_val)),
        "arch": args.arch,
        "parameters": int(core.count_params()),
        "input": {"height": args.input_size, "width": args.input_size, "color": args.color,
                  "normalization": {"scale": SCALE, "offset": OFFSET},
                  **({"framing": framing.describe()} if framing is not None else {})},
        "hyperparameters": {k: _jsonable(v) for k, v in vars(args).items()},
        "epochs_run": epochs_run,
        "best_epoch": best.best_epoch,
        "best_monitor": best.monitor,
        "best_val_accuracy": float(best.best_value) if best.monitor == "val_accuracy" else None,
        "best_val_age_mae": float(best.best_value) if best.monitor == "val_age_mae" else None,
        **extra_card,
        "training_minutes": round(minutes, 1),
        "training_command": "python -m training.fit.train " + shlex.join(_training_argv(sys.argv[1:])),
        **({"continued_from": _earlier_run(args.init_weights)} if args.init_weights is not None else {}),
        "git_commit": git_commit(),
        "trained_on": machine_description(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"best {best.monitor} {best.best_value:.4f} at epoch {best.best_epoch}; "
          f"{minutes:.1f} min; saved {out / 'model.keras'}", flush=True)
    return run


def _training_argv(argv: Sequence[str]) -> list[str]:
    """Return the arguments of the training itself (without --record-interrupted and its value)."""
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--record-interrupted":
            skip = True
        elif not item.startswith("--record-interrupted="):
            kept.append(item)
    return kept


def _interrupted_best(out: Path, best) -> int:
    """Epochs in ``out``/history.csv; sets the best-checkpoint callback's epoch and value from it."""
    import csv

    history = out / "history.csv"
    if not (history.is_file() and (out / "model.keras").is_file()):
        raise SystemExit(f"--record-interrupted: {history} and {out / 'model.keras'} must exist")
    rows = list(csv.DictReader(history.open()))
    if not rows:
        raise SystemExit(f"--record-interrupted: {history} has no finished epoch")
    values = [best.sign * float(row[best.monitor]) for row in rows]
    index = int(np.argmax(values))
    best.best, best.best_epoch = values[index], index + 1
    return len(rows)


def _jsonable(value: Any) -> Any:
    """Paths (alone or in lists, e.g. several --teacher) as strings for run.json."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _earlier_run(init_weights: Path) -> dict[str, Any]:
    """Return what the run that produced ``--init-weights`` recorded (command, epochs, minutes), if known."""
    return run_provenance(init_weights, ("training_command", "epochs_run", "best_epoch", "training_minutes",
                                         "trained_on", "continued_from"))
