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

"""Age as a distribution over bins: bins, soft targets, estimates, the age split and its report."""
from __future__ import annotations

import io
from pathlib import Path
import tarfile

import cv2
import numpy as np
import pytest

from training.data.age import (
    AGE_BANDS,
    AGE_BIN_EDGES,
    band_index,
    bin_centers,
    bin_index,
    bin_labels,
    expected_age,
    soft_targets,
)
from training.evaluation.age_report import age_metrics, age_report
from training.fit.trainer import training_targets


def test_bins_cover_every_age_and_bands_are_unions_of_bins() -> None:
    labels = bin_labels()
    assert len(labels) == len(AGE_BIN_EDGES) - 1 and labels[0] == "0-2" and labels[-1] == "90+"
    ages = np.array([0, 2, 3, 12, 13, 17, 18, 89, 90, 116, 130])
    assert list(bin_index(ages)) == [0, 0, 1, 3, 4, 5, 6, 19, 20, 20, 20]
    for _, low, high in AGE_BANDS:  # band edges are bin edges, so band accuracy is exact per bin
        assert low in AGE_BIN_EDGES and (high in AGE_BIN_EDGES or high > AGE_BIN_EDGES[-2])
    assert list(band_index(np.array([0, 12, 13, 17, 18, 39, 40, 59, 60, 100]))) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(ValueError):
        bin_index(np.array([-1]))


def test_soft_targets_peak_at_the_true_bin_and_widen_with_age() -> None:
    ages = np.array([1, 25, 47, 85])
    targets = soft_targets(ages)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-5)
    assert list(targets.argmax(axis=1)) == list(bin_index(ages))
    spread = [(targets[i] > 0.01).sum() for i in range(len(ages))]
    assert spread[0] <= spread[1] <= spread[3]


def test_expected_age_of_the_soft_targets_is_near_the_true_age() -> None:
    ages = np.arange(1, 100)
    centers = bin_centers(np.arange(0, 117))
    estimate = expected_age(soft_targets(ages), centers)
    assert np.abs(estimate - ages).mean() < 1.5
    # Centres are the mean training age in each bin; an empty bin falls back to its midpoint.
    assert bin_centers(np.array([30, 31, 34]))[bin_index(np.array([30]))[0]] == pytest.approx(95 / 3)
    assert bin_centers(np.array([30]))[0] == pytest.approx(1.0)


def test_age_metrics_and_constant_baselines() -> None:
    truth = np.array([5, 15, 30, 50, 70])
    metrics = age_metrics(np.array([7, 15, 20, 50, 90]), truth)
    assert metrics["mae_years"] == pytest.approx((2 + 0 + 10 + 0 + 20) / 5)
    assert metrics["band_accuracy"] == pytest.approx(1.0)
    assert metrics["mae_by_band"]["18-39"] == pytest.approx(10.0)
    assert metrics["within_5_years"] == pytest.approx(3 / 5)
    centers = bin_centers(np.arange(0, 117))
    report = age_report(soft_targets(truth), soft_targets(truth), centers, truth, np.array([20, 30, 40]))
    assert report["baseline_mean_age"]["mae_years"] == pytest.approx(np.abs(truth - 30).mean())
    assert report["ours"]["mae_years"] < report["baseline_mean_age"]["mae_years"]


def test_age_task_uses_the_gender_split_with_age_bins(tmp_path: Path) -> None:
    from training.data.tasks import load_task_data

    rng = np.random.default_rng(5)
    tar_path = tmp_path / "utk.tar"
    with tarfile.open(tar_path, "w") as tar:
        for i in range(30):
            _, blob = cv2.imencode(".jpg", rng.integers(0, 256, (100, 100, 3), dtype=np.uint8))
            info = tarfile.TarInfo(f"UTKFace/{3 * i + 1}_{i % 2}_0_2017011{i:04d}.jpg.chip.jpg")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob.tobytes()))
    age = load_task_data("age", tar_path, cache_dir=None)
    gender = load_task_data("gender", tar_path, cache_dir=None)
    assert age.labels == bin_labels()
    for name, split in age.splits.items():  # same faces in the same split as gender
        np.testing.assert_array_equal(split.extra["age"], gender.splits[name].extra["age"])
        np.testing.assert_array_equal(split.extra["gender"], gender.splits[name].labels)
        np.testing.assert_array_equal(split.labels, bin_index(split.extra["age"]))
    rows, targets = training_targets(age.splits["train"], "age_distribution", len(age.labels))
    assert len(rows) == len(age.splits["train"]) and targets.shape == (len(rows), len(age.labels))
