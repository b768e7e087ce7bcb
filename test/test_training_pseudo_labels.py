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

"""RAF-DB pseudo-labels: the threshold chosen on FairFace validation, the shipped teacher, the training join."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import write_fairface_tar, write_rafdb_tar

from training.data.dataset import Dataset, Split
from training.data.loaders.fairface import AGE_GROUPS, RACE_LABELS
from training.data.loaders.utkface import GENDER_LABELS
from training.data.tasks import _with_pseudo_labels
from training.fit import pseudo_label_teachers, pseudo_labels

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    confidence = np.array([0.55, 0.6, 0.7, 0.8, 0.9, 0.95] * 10)
    right = np.array([False, False, True, False, True, True] * 10)
    threshold, curve = pseudo_label_teachers.choose_threshold(confidence, right, 0.8, grid=(0.5, 0.65, 0.75, 0.85),
                                                              min_kept=5)
    assert threshold == 0.85  # from 0.85 on the wrong 0.8 faces are dropped: all kept right
    assert [p["precision"] for p in curve] == pytest.approx([0.5, 0.75, 2 / 3, 1.0])
    assert [p["faces"] for p in curve] == [60, 40, 30, 20]
    with pytest.raises(SystemExit, match="lower --precision"):
        pseudo_label_teachers.choose_threshold(confidence, np.zeros(60, bool), 0.5, grid=(0.5, 0.9), min_kept=5)


def test_the_shipped_teacher_labels_rafdb_faces_with_the_threshold_chosen_on_fairface(tmp_path: Path) -> None:
    rows = [(AGE_GROUPS[i % 9], GENDER_LABELS[(i // 9) % 2], RACE_LABELS[i % 7]) for i in range(80)]
    fairface = write_fairface_tar(tmp_path / "ff.tar.gz", rows)
    rafdb = write_rafdb_tar(tmp_path / "raf.tar.gz", ["happy", "sad", "neutral", "fear", "angry"] * 12)
    out = tmp_path / "pseudo" / "rafdb_gender.npz"
    assert pseudo_labels.main(["--task", "gender", "--fairface", str(fairface), "--rafdb", str(rafdb),
                               "--precision", "0", "--out", str(out), "--no-cache"]) == 0
    saved, record = np.load(out), json.loads(out.with_suffix(".json").read_text())
    assert record["threshold"] == 0.5 and record["rafdb_faces"] == 50  # RAF-DB's train split: 10 of each 12
    assert record["kept"] == len(saved["rows"]) == 50  # the larger of two probabilities is >= 0.5
    np.testing.assert_array_equal(saved["answer"], saved["probabilities"].argmax(axis=1))
    np.testing.assert_allclose(saved["confidence"], saved["probabilities"].max(axis=1))
    assert sum(record["kept_labels"].values()) == 50
    assert record["fairface_validation_curve"][0]["faces"] == 36  # the validation half only (odd faces to test)
    # A seeded subset of RAF-DB's faces (descriptor teachers are slow): the rows kept come from it.
    assert pseudo_labels.main(["--task", "gender", "--fairface", str(fairface), "--rafdb", str(rafdb),
                               "--precision", "0", "--out", str(out), "--no-cache", "--rafdb-faces", "20"]) == 0
    saved, record = np.load(out), json.loads(out.with_suffix(".json").read_text())
    np.testing.assert_array_equal(saved["rows"], pseudo_label_teachers.rafdb_subset(50, 20))
    assert record["rafdb_faces"] == 20 and len(set(saved["rows"].tolist())) == 20
    # A precision no threshold reaches on noise is refused, naming the option.
    with pytest.raises(SystemExit, match="--precision"):
        pseudo_labels.main(["--task", "gender", "--fairface", str(fairface), "--rafdb", str(rafdb),
                            "--precision", "1.01", "--out", str(out), "--no-cache"])


def labelled_set(counts: dict[str, int], with_source_set: bool) -> Dataset:
    rng = np.random.default_rng(1)
    splits = {}
    for name, n in counts.items():
        extra = {"source": rng.integers(0, 256, (n, 112, 112, 3), np.uint8),
                 "keypoints": np.tile(rng.uniform(20, 90, (1, 6, 2)), (n, 1, 1)),
                 "face_found": np.ones(n, bool), "age": rng.uniform(20, 60, n), "gender": np.zeros(n, np.int64)}
        if with_source_set:
            extra["source_set"] = np.arange(n) % 2
        splits[name] = Split(rng.integers(0, 256, (n, 48, 48), np.uint8), np.zeros(n, np.int64), extra)
    return Dataset("UTKFace", [f"bin{i}" for i in range(21)], splits,
                   {"source_set": ["UTKFace", "LFW"]} if with_source_set else {"age_bin_edges": [0, 3]})


def test_pseudo_labelled_faces_join_the_training_split_only(tmp_path: Path) -> None:
    rafdb = write_rafdb_tar(tmp_path / "raf.tar.gz", ["happy", "sad", "neutral", "fear", "angry"] * 10)
    pseudo = tmp_path / "rafdb_age.npz"
    np.savez(pseudo, rows=np.array([0, 3, 7]), answer=np.array([4.0, 35.0, 72.0]))
    pseudo.with_suffix(".json").write_text(json.dumps({"task": "age", "threshold": 0.5,
                                                       "fairface_validation_curve": []}))
    framing = json.loads((REPO_ROOT / "face_perception/models/age.card.json").read_text())["input"]["framing"]
    dataset = labelled_set({"train": 10, "validation": 4, "test": 4}, with_source_set=False)
    joined = _with_pseudo_labels("age", dataset, pseudo, 48, None, "gray", framing, rafdb)
    train = joined.splits["train"]
    assert joined.counts() == {"train": 13, "validation": 4, "test": 4}
    np.testing.assert_array_equal(train.extra["pseudo_labelled"], [False] * 10 + [True] * 3)
    np.testing.assert_array_equal(train.extra["age"][10:], [4.0, 35.0, 72.0])
    np.testing.assert_array_equal(train.labels[10:], [1, 10, 17])  # the bins of 4, 35 and 72 years
    np.testing.assert_array_equal(train.extra["gender"][10:], [-1, -1, -1])  # unknown for RAF-DB's faces
    assert train.extra["source"].shape == (13, 112, 112, 3)  # robot-view augmentation still possible
    assert joined.info["source_set"] == ["UTKFace", "RAF-DB pseudo"]
    assert joined.info["age_bin_edges"] == [0, 3]
    # Gender keeps UTKFace's and LFW's codes; RAF-DB gets the next one.
    pseudo_gender = tmp_path / "rafdb_gender.npz"
    np.savez(pseudo_gender, rows=np.array([1, 2]), answer=np.array([1, 0]))
    pseudo_gender.with_suffix(".json").write_text(json.dumps({"task": "gender", "fairface_validation_curve": []}))
    joined = _with_pseudo_labels("gender", labelled_set({"train": 6, "validation": 2, "test": 2}, True),
                                 pseudo_gender, 48, None, "gray", framing, rafdb)
    np.testing.assert_array_equal(joined.splits["train"].extra["source_set"], [0, 1, 0, 1, 0, 1, 2, 2])
    np.testing.assert_array_equal(joined.splits["train"].labels[6:], [1, 0])
    with pytest.raises(SystemExit, match="holds gender labels, not age"):
        _with_pseudo_labels("age", dataset, pseudo_gender, 48, None, "gray", framing, rafdb)


def test_a_softmax_head_learns_separable_descriptors_and_the_dlib_teacher_reads_real_faces(astronaut_bgr) -> None:
    from training.fit.descriptors import face_descriptors, SoftmaxHead
    from training.fit.pseudo_label_teachers import DescriptorTeacher

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 16))
    labels = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    head = SoftmaxHead.fit(x, labels, 2, steps=500)
    assert (head.probabilities(x).argmax(axis=1) == labels).mean() > 0.97
    np.testing.assert_allclose(head.probabilities(x).sum(axis=1), 1.0, rtol=1e-5)
    # The real descriptor on the astronaut's face, cut the node's way, at keypoints found by BlazeFace.
    from training.data.framed import detect_keypoints
    import cv2
    face = cv2.resize(astronaut_bgr[20:260, 140:380], (112, 112))[..., ::-1]  # RGB, like a data set's source
    keypoints, found = detect_keypoints(face[None])
    assert found[0]
    sources = np.repeat(face[None], 4, axis=0)
    sources[2:] = sources[2:, :, ::-1]  # mirrored faces: the same person, a nearby descriptor
    points = np.repeat(keypoints, 4, axis=0)
    points[2:, :, 0] = 111 - points[2:, :, 0]
    points[2:, [0, 1]] = points[2:, [1, 0]]  # mirrored: the eyes swap sides
    descriptors = face_descriptors(sources, points, cache_dir=None)
    assert descriptors.shape == (4, 128) and np.linalg.norm(descriptors[0] - descriptors[2]) < 0.6
    labelled = Split(np.zeros((4, 48, 48), np.uint8), np.array([1, 1, 1, 1]),
                     {"source": sources, "keypoints": points})
    teacher = DescriptorTeacher(labelled, 2, faces=4, cache_dir=None)
    assert teacher.read(labelled).shape == (4, 2) and "4 labelled training faces" in teacher.description


def test_candidates_read_age_as_the_node_does() -> None:
    from training.evaluation.fairface_candidates import age_outcome, markdown

    edges = [0, 3, 6, 10, 13, 16, 18, 21, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 90, 131]
    bins = {"edges_years": edges, "centers_years": [(lo + hi) / 2 for lo, hi in zip(edges[:-1], edges[1:])]}
    probabilities = np.eye(21)[[0, 6, 20]]  # all mass in 0-2, in 18-20 and in 90+
    outcome = age_outcome(probabilities, bins)
    np.testing.assert_allclose(outcome["age"], [1.5, 19.5, 110.5])
    np.testing.assert_array_equal(outcome["age_group"], [0, 2, 8])  # 18-20: 2/3 of it in 10-19
    np.testing.assert_allclose(outcome["child_probability"], [1.0, 0.0, 0.0], atol=1e-6)
    table = markdown("age", [{"model": "m.keras", "age group hit rate": 0.5, "age in years in the right group": 0.25,
                              "children under 10 read under 13": 1.0, "60+ read 55 or more": 0.0,
                              "own validation MAE years": 5.94}])
    assert "| `m.keras` | 50.0% | 25.0% | 100.0% | 0.0% | 5.94 |" in table
