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

"""The one face framing: keypoints from both detectors, the eyes-levelled cut, card entries."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT_FACE
from face_perception.classification.classification import FaceClassifier, ModelLoadError
from face_perception.classification.framing import (
    BOX_KEYPOINT_PRIORS,
    BoxFraming,
    detection_keypoints,
    EyesMouthFraming,
    framing_from_card,
    FramingError,
    FramingJitter,
)
from face_perception.classification.preprocessing import preprocess_faces
from face_perception.detection.blazeface import BlazeFaceDetector
from face_perception.detection.detection import Detection
from face_perception.detection.haar import HaarFaceDetector
from face_perception.detection.keypoints import RegionKeypointFinder
from face_perception.parameters import PipelineConfig


@pytest.fixture(scope="module")
def blazeface() -> BlazeFaceDetector:
    return BlazeFaceDetector("full_range", 0.5, 2.0)


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    x, y, w, h = ASTRONAUT_FACE
    matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT_101)


def test_blazeface_keypoints_lie_on_the_astronauts_face(astronaut_bgr, blazeface):
    face = blazeface.detect(astronaut_bgr)[0]
    assert face.keypoints is not None and len(face.keypoints) == 6
    right_eye, left_eye, nose, mouth = (np.array(p) for p in face.keypoints[:4])
    x, y, w, h = face.box
    for point in (right_eye, left_eye, nose, mouth):
        assert x <= point[0] <= x + w and y <= point[1] <= y + h
    assert right_eye[0] < left_eye[0]  # the person's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]  # eyes, then nose, then mouth


def test_eyes_mouth_cut_levels_a_tilted_face(astronaut_bgr, blazeface):
    framing = EyesMouthFraming()
    upright = blazeface.detect(astronaut_bgr)[0]
    tilted_frame = _rotated(astronaut_bgr, 25.0)
    tilted = blazeface.detect(tilted_frame)[0]
    eyes = np.array(tilted.keypoints[:2])
    assert abs(np.degrees(np.arctan2(*(eyes[1] - eyes[0])[::-1]))) > 15  # the frame really is tilted
    a = cv2.cvtColor(framing.cut(astronaut_bgr, upright, 64, 64), cv2.COLOR_BGR2GRAY).astype(np.float64)
    b = cv2.cvtColor(framing.cut(tilted_frame, tilted, 64, 64), cv2.COLOR_BGR2GRAY).astype(np.float64)
    # The two cuts show the same levelled face; the box crop of the tilted one does not.
    box = cv2.cvtColor(BoxFraming(0.1).cut(tilted_frame, tilted, 64, 64), cv2.COLOR_BGR2GRAY).astype(np.float64)
    same = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    # Measured: 0.75 (keypoint noise moves the cut a little) against 0.26 for the box crop.
    assert same > 0.65
    assert same > np.corrcoef(a.ravel(), box.ravel())[0, 1] + 0.3


def test_haar_faces_get_keypoints_from_a_blazeface_pass(astronaut_bgr, blazeface):
    haar = HaarFaceDetector(PipelineConfig.defaults().detection).detect(astronaut_bgr)
    assert haar and haar[0].keypoints is None
    refined = RegionKeypointFinder().add_keypoints(astronaut_bgr, haar)
    assert refined[0].box == haar[0].box and refined[0].keypoints is not None
    reference = np.array(blazeface.detect(astronaut_bgr)[0].keypoints)
    # The same eyes and mouth as BlazeFace on the whole frame, within a few pixels.
    assert np.abs(np.array(refined[0].keypoints)[:4] - reference[:4]).max() < 6
    # No face in the region: the detection keeps no keypoints (the framing then uses the box prior).
    blank = np.full_like(astronaut_bgr, 127)
    assert RegionKeypointFinder().add_keypoints(blank, haar)[0].keypoints is None


def test_box_prior_stands_in_for_missing_keypoints(astronaut_bgr, blazeface):
    """A Haar box with the calibrated prior frames the face about as BlazeFace's keypoints do."""
    haar = HaarFaceDetector(PipelineConfig.defaults().detection).detect(astronaut_bgr)[0]
    framing = EyesMouthFraming()
    from_prior = framing.cut(astronaut_bgr, haar, 48, 48, BOX_KEYPOINT_PRIORS["haar"]).astype(np.float64)
    measured = framing.cut(astronaut_bgr, blazeface.detect(astronaut_bgr)[0], 48, 48).astype(np.float64)
    # Measured 0.65 here; the prior is a fallback for faces BlazeFace cannot find in the box.
    assert np.corrcoef(from_prior.ravel(), measured.ravel())[0, 1] > 0.55
    placed = detection_keypoints(haar, BOX_KEYPOINT_PRIORS["haar"])[:4]
    true = np.array(blazeface.detect(astronaut_bgr)[0].keypoints)[:4]
    assert np.abs(placed - true).max() < 0.12 * haar.w  # eyes, nose and mouth within 12% of the box
    with pytest.raises(FramingError, match="box prior"):
        framing.cut(astronaut_bgr, haar, 48, 48)


def test_face_at_the_frame_edge_is_cut_whole_size(astronaut_bgr, blazeface):
    face = blazeface.detect(astronaut_bgr)[0]
    shift = face.x + face.w // 3  # two thirds of the face left of the frame
    frame = np.ascontiguousarray(astronaut_bgr[:, shift:])
    edge = Detection(0, face.y, face.w - face.w // 3, face.h, 0.9, 0.9,
                     tuple((px - shift, py) for px, py in face.keypoints))
    crop = EyesMouthFraming().cut(frame, edge, 48, 48)
    assert crop.shape == (48, 48, 3)
    # Outside the frame the edge column repeats: the crop's left columns equal the frame's first one.
    assert np.isfinite(crop.astype(np.float64)).all()


def test_large_faces_are_averaged_not_aliased():
    """A fine stripe pattern far larger than the input shrinks to its mean grey (no moire)."""
    stripes = np.zeros((800, 800), np.uint8)
    stripes[:, ::2] = 255
    keypoints = ((300.0, 350.0), (500.0, 350.0), (400.0, 430.0), (400.0, 560.0), (200.0, 380.0), (600.0, 380.0))
    detection = Detection(200, 200, 400, 400, 1.0, 1.0, keypoints)
    crop = EyesMouthFraming().cut(stripes, detection, 48, 48).astype(np.float64)
    assert abs(crop.mean() - 127.5) < 8 and crop.std() < 12


def test_jitter_moves_the_cut(astronaut_bgr, blazeface):
    framing = EyesMouthFraming()
    keypoints = np.array(blazeface.detect(astronaut_bgr)[0].keypoints)
    plain = framing.cut_keypoints(astronaut_bgr, keypoints, 48, 48)
    np.testing.assert_array_equal(plain, framing.cut_keypoints(astronaut_bgr, keypoints, 48, 48, FramingJitter()))
    zoomed = framing.cut_keypoints(astronaut_bgr, keypoints, 48, 48, FramingJitter(scale=1.15, roll_degrees=10))
    assert np.abs(plain.astype(int) - zoomed.astype(int)).mean() > 5


def test_box_framing_is_the_crop_every_old_card_had(astronaut_gray):
    from face_perception.classification.preprocessing import build_batch, InputSpec

    spec = InputSpec(48, 48, 2 / 255, -1.0)
    detection = Detection(*ASTRONAUT_FACE, 1.0, 1.0)
    legacy = preprocess_faces(astronaut_gray, [ASTRONAUT_FACE], 0.1, spec)
    framed = build_batch([BoxFraming(0.1).cut(astronaut_gray, detection, 48, 48)], spec)
    np.testing.assert_array_equal(legacy, framed)


@pytest.mark.parametrize("entry, message", [
    ({"name": "eyes_nose"}, "not one this node can produce"),
    ({"name": "eyes_mouth", "size": 2.4, "center": 0.45}, "lacks 'eye_mouth_ratio'"),
    ({"name": "eyes_mouth", "size": 9.0, "center": 0.45, "eye_mouth_ratio": 0.93}, "input.framing.size"),
    ({"name": "box", "margin": 0.1, "padding": 2}, "unknown parameters"),
    ("eyes_mouth", "must be an object"),
])
def test_framing_entries_the_node_cannot_produce_are_refused(entry, message):
    with pytest.raises(FramingError, match=message):
        framing_from_card(entry, 0.1, "card.json")


def test_round_trip_of_a_framing_entry():
    framing = EyesMouthFraming(2.2, 0.4, 0.9)
    assert framing_from_card(framing.describe(), 0.1, "x") == framing
    assert framing_from_card(None, 0.25, "x") == BoxFraming(0.25)


def test_node_refuses_a_card_whose_framing_it_cannot_produce(tmp_path):
    from face_perception.classification.classification import MODELS_DIRECTORY

    model = tmp_path / "gender.tflite"
    shutil.copyfile(MODELS_DIRECTORY / "gender.tflite", model)
    card = json.loads((MODELS_DIRECTORY / "gender.card.json").read_text())
    card["input"]["framing"] = {"name": "eyes_nose_v2", "size": 2.0}
    (tmp_path / "gender.card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match=r"gender\.card\.json.*eyes_nose_v2.*classification\.gender_model"):
        FaceClassifier(model, "gender")
