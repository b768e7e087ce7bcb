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

"""Haar face detection on real photos: the astronaut's face, face-free images, downscaling."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from conftest import ASTRONAUT_FACE, make_face_frame
from face_perception.detection.detection import box_iou
from face_perception.detection.haar import CascadeLoadError, HaarFaceDetector, level_weight_to_confidence
from face_perception.parameters import PipelineConfig


def detector(**overrides) -> HaarFaceDetector:
    values = {f"detection.{name}": value for name, value in overrides.items()}
    return HaarFaceDetector(PipelineConfig.from_mapping(values).detection)


def assert_close_box(box, expected, tolerance: int) -> None:
    assert np.all(np.abs(np.subtract(box, expected)) <= tolerance), f"{box} vs {expected}"


def test_astronaut_has_one_face_at_the_known_place(astronaut_gray: np.ndarray) -> None:
    faces = detector(max_width=0).detect(astronaut_gray)
    assert len(faces) == 1
    assert_close_box(faces[0].box, ASTRONAUT_FACE, tolerance=5)
    assert 0.5 < faces[0].confidence <= 1.0


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_face_free_images_have_no_faces(name: str) -> None:
    gray = cv2.cvtColor(getattr(skimage_data, name)(), cv2.COLOR_RGB2GRAY)
    assert detector(max_width=0).detect(gray) == []


@pytest.mark.parametrize("max_width", [384, 256])
def test_downscaled_detection_finds_the_same_face(astronaut_gray: np.ndarray, max_width: int) -> None:
    (full,) = detector(max_width=0).detect(astronaut_gray)
    # Boxes found in the smaller image must be mapped back to source pixels. Box sides are
    # quantised by the pyramid step (x1.1) at the smaller scale, so compare centre and size.
    (small,) = detector(max_width=max_width).detect(astronaut_gray)
    centre = np.array([full.x + full.w / 2, full.y + full.h / 2])
    small_centre = np.array([small.x + small.w / 2, small.y + small.h / 2])
    assert np.abs(centre - small_centre).max() <= 4
    assert abs(small.w - full.w) <= 0.15 * full.w


def test_downscaled_multi_face_frame_matches_full_resolution() -> None:
    frame = make_face_frame([(160, 150, 100), (470, 160, 110), (320, 360, 90)])
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    full = detector(max_width=0).detect(gray)
    small = detector(max_width=320).detect(gray)
    assert len(full) == 3 and len(small) == 3
    for face in full:
        best = max(small, key=lambda other: box_iou(face.box, other.box))
        assert box_iou(face.box, best.box) > 0.75


def test_min_face_size_is_in_source_pixels(astronaut_gray: np.ndarray) -> None:
    assert len(detector(max_width=256, min_face_size=90).detect(astronaut_gray)) == 1
    assert detector(max_width=256, min_face_size=150).detect(astronaut_gray) == []


def test_region_search_finds_tracked_face_and_ignores_the_rest() -> None:
    frame = make_face_frame([(160, 240, 110), (480, 240, 110)])
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    haar = detector()
    everything = haar.detect(gray)
    assert len(everything) == 2
    left = min(everything, key=lambda d: d.x)
    nudged = (left.x + 8, left.y - 5, left.w, left.h)  # a slightly stale track position
    in_region = haar.detect(gray, search_boxes=[nudged])
    assert len(in_region) == 1
    assert box_iou(in_region[0].box, left.box) > 0.7
    assert haar.detect(gray, search_boxes=[]) == []


def test_confidence_mapping_is_monotonic_in_unit_interval() -> None:
    weights = np.linspace(-10, 20, 61)
    confidences = [level_weight_to_confidence(w) for w in weights]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert all(b > a for a, b in zip(confidences, confidences[1:]))


def test_equalisation_can_be_switched_off(astronaut_gray: np.ndarray) -> None:
    dim = (astronaut_gray // 4).astype(np.uint8)  # dark, low-contrast copy
    faces = detector(equalize_histogram=True).detect(dim)
    assert len(faces) == 1
    assert detector(equalize_histogram=False).prepare(dim).image.max() <= 64


def test_missing_or_broken_cascade_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_cascade.xml"
    with pytest.raises(CascadeLoadError, match="no_such_cascade.xml"):
        detector(cascade_file=str(missing))
    broken = tmp_path / "broken.xml"
    broken.write_text("<opencv_storage>not a cascade</opencv_storage>")
    with pytest.raises(CascadeLoadError, match="broken.xml"):
        detector(cascade_file=str(broken))
