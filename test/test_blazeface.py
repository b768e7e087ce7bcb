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
The BlazeFace backend.

The BlazeFace backend: our anchors, decoder and NMS on built tensors; the real model on
real photos; the backend switch in the pipeline.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from conftest import ASTRONAUT_FACE, make_face_frame
from face_perception.detection.blazeface import (
    BlazeFaceDetector,
    decode_boxes,
    model_path,
    MODELS,
    non_maximum_suppression,
    scores_from_logits,
    ssd_anchor_centres,
    tile_boxes,
)
from face_perception.detection.detection import box_iou
from face_perception.detection.detectors import create_detector
from face_perception.parameters import ConfigError, PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline


def blazeface(model: str = "full_range", **overrides) -> BlazeFaceDetector:
    values = {"detection.backend": "blazeface", "detection.blazeface_model": model,
              **{f"detection.{name}": value for name, value in overrides.items()}}
    detector = create_detector(PipelineConfig.from_mapping(values).detection)
    assert isinstance(detector, BlazeFaceDetector)
    return detector


# --- anchors, decoder, NMS on tensors built here ------------------------------------------------
def test_anchor_layouts_match_the_model_outputs() -> None:
    short = ssd_anchor_centres(128, (8, 16, 16, 16), True)
    # 16x16 cells x 2 anchors (stride 8), then 8x8 cells x 6 anchors (three stride-16 layers).
    assert short.shape == (16 * 16 * 2 + 8 * 8 * 6, 2) == (896, 2)
    assert short[0] == pytest.approx([0.5 / 16, 0.5 / 16]) and short[1] == pytest.approx(short[0])
    assert short[2] == pytest.approx([1.5 / 16, 0.5 / 16])  # x runs fastest
    assert short[512] == pytest.approx([0.5 / 8, 0.5 / 8]) and short[517] == pytest.approx(short[512])
    assert short[-1] == pytest.approx([7.5 / 8, 7.5 / 8])
    full = ssd_anchor_centres(192, (4,), False)
    assert full.shape == (48 * 48, 2)
    assert full[48] == pytest.approx([0.5 / 48, 1.5 / 48])  # second row
    for name, model in MODELS.items():
        path = model_path(name)
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        counts = {int(d["shape"][1]) for d in interpreter.get_output_details()}
        anchors = ssd_anchor_centres(model.input_size, model.strides, model.interpolated_anchor)
        assert counts == {len(anchors)}, name


def test_decoder_turns_known_offsets_into_known_boxes() -> None:
    size = 128
    anchors = np.array([[0.25, 0.5], [0.75, 0.75], [0.5, 0.5]], np.float32)
    # Each row: centre offset x, y, width, height in input pixels, then keypoints (ignored).
    raw = np.zeros((1, 3, 16), np.float32)
    raw[0, 0, :4] = [0, 0, 32, 64]         # centred on its anchor, 1/4 x 1/2 of the input
    raw[0, 1, :4] = [-16, 32, 16, 16]      # moved left 1/8 and down 1/4
    raw[0, 2, :4] = [12.8, -12.8, 128, 128]
    boxes = decode_boxes(raw, anchors, size)
    assert boxes[0] == pytest.approx([0.125, 0.25, 0.375, 0.75])
    assert boxes[1] == pytest.approx([0.5625, 0.9375, 0.6875, 1.0625])
    assert boxes[2] == pytest.approx([0.1, -0.1, 1.1, 0.9])


def test_scores_are_sigmoid_probabilities_without_overflow() -> None:
    scores = scores_from_logits(np.array([[[0.0], [2.0], [-1e6], [1e6]]], np.float32))
    assert scores == pytest.approx([0.5, 1 / (1 + np.exp(-2.0)), 0.0, 1.0], abs=1e-6)
    assert np.all(np.isfinite(scores))


def test_weighted_nms_averages_a_group_and_keeps_separate_faces() -> None:
    boxes = np.array([
        [0.10, 0.10, 0.30, 0.30],   # face A, best
        [0.12, 0.10, 0.32, 0.30],   # face A again, shifted
        [0.60, 0.60, 0.80, 0.80],   # face B
        [0.11, 0.12, 0.31, 0.32],   # face A, weakest
    ], np.float32)
    scores = np.array([0.9, 0.6, 0.8, 0.5], np.float32)
    kept, kept_scores = non_maximum_suppression(boxes, scores, 0.3, weighted=True)
    assert kept_scores == pytest.approx([0.9, 0.8])
    expected_a = (boxes[[0, 1, 3]] * scores[[0, 1, 3], None]).sum(axis=0) / scores[[0, 1, 3]].sum()
    assert kept[0] == pytest.approx(expected_a)
    assert kept[1] == pytest.approx(boxes[2])
    plain, plain_scores = non_maximum_suppression(boxes, scores, 0.3, weighted=False)
    assert plain == pytest.approx(boxes[[0, 2]]) and plain_scores == pytest.approx([0.9, 0.8])
    # Boxes overlapping less than the threshold both survive.
    apart = np.array([[0, 0, 1, 1], [0.8, 0, 1.8, 1]], np.float32)
    assert len(non_maximum_suppression(apart, np.array([0.9, 0.8]), 0.3)[0]) == 2
    empty, empty_scores = non_maximum_suppression(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert empty.shape == (0, 4) and empty_scores.shape == (0,)


@pytest.mark.parametrize("tiles", [2, 3])
def test_tiles_cover_the_frame_with_overlap(tiles: int) -> None:
    boxes = tile_boxes(640, 480, tiles)
    assert len(boxes) == tiles * tiles
    covered = np.zeros((480, 640), bool)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # Neighbours overlap, so a face on a seam is whole in one of them.
    assert boxes[1][0] < boxes[0][2] and boxes[tiles][1] < boxes[0][3]


# --- the real models on real photos --------------------------------------------------------------
@pytest.mark.parametrize("model", ["full_range", "short_range"])
def test_astronaut_face_overlaps_the_haar_box(astronaut_bgr: np.ndarray, model: str) -> None:
    faces = blazeface(model).detect(astronaut_bgr)
    assert len(faces) == 1
    assert box_iou(faces[0].box, ASTRONAUT_FACE) > 0.6, faces[0].box
    assert 0.5 <= faces[0].confidence <= 1.0
    # Grey input (a mono camera) finds the same face.
    (grey_face,) = blazeface(model).detect(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY))
    assert box_iou(grey_face.box, faces[0].box) > 0.8


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_face_free_images_have_no_faces(name: str) -> None:
    bgr = cv2.cvtColor(getattr(skimage_data, name)(), cv2.COLOR_RGB2BGR)
    assert blazeface().detect(bgr) == []


def test_tiles_find_small_faces_the_whole_frame_misses() -> None:
    # Heads of 40-80 px in a 640x480 frame: 12-24 px in the 192 px model input of a
    # whole-frame pass, twice that in 2 x 2 tiles.
    faces = [(120, 120, 40), (500, 120, 50), (150, 360, 60), (480, 350, 80)]
    frame = make_face_frame(faces)
    whole, tiled = blazeface().detect(frame), blazeface(blazeface_tiles=2).detect(frame)
    assert len(tiled) == 4, [d.box for d in tiled]
    for x, y, size in faces:
        assert any(abs(d.x + d.w / 2 - x) < size / 2 and abs(d.y + d.h / 2 - y) < size / 2 for d in tiled)
    assert len(whole) < 4
    assert any(abs(d.x + d.w / 2 - 480) < 40 for d in whole)  # the largest is found either way


def test_region_search_finds_the_tracked_face_only(astronaut_bgr: np.ndarray) -> None:
    frame = make_face_frame([(160, 200, 70), (480, 260, 90)])
    detector = blazeface()
    full = detector.detect(frame)
    assert len(full) == 2
    left = min(full, key=lambda d: d.x)
    (region,) = detector.detect(frame, [left.box])
    assert box_iou(region.box, left.box) > 0.6
    # A region with no face in it (the tracked face has left) gives nothing.
    assert detector.detect(frame, [(300, 20, 60, 60)]) == []


# --- the backend in the pipeline ----------------------------------------------------------------
def test_unknown_backend_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="detection.backend.*'yolo'"):
        PipelineConfig.from_mapping({"detection.backend": "yolo"})
    with pytest.raises(ConfigError, match="detection.blazeface_model.*'huge'"):
        PipelineConfig.from_mapping({"detection.blazeface_model": "huge"})


def test_switching_backend_keeps_the_tracks(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config)
    frames = [make_face_frame([(180 + 6 * step, 220, 110), (470 - 6 * step, 250, 100)]) for step in range(6)]
    ids = {face.track_id for face in pipeline.process(frames[0]).faces}
    assert len(ids) == 2
    pipeline.reconfigure(pipeline.config.with_updates({"detection.backend": "blazeface"}))
    assert isinstance(pipeline.detector, BlazeFaceDetector)
    for frame in frames[1:3]:
        assert {face.track_id for face in pipeline.process(frame).faces} == ids
    pipeline.reconfigure(pipeline.config.with_updates({"detection.backend": "haar"}))
    for frame in frames[3:]:
        assert {face.track_id for face in pipeline.process(frame).faces} == ids


@pytest.mark.parametrize("background", [False, True])
def test_blazeface_regions_between_full_detections(pipeline_config: PipelineConfig, background: bool) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates(
        {"detection.backend": "blazeface", "detection.redetect_interval": 3, "detection.background": background}))
    try:
        ids, flags = set(), []
        for step in range(7):
            frame = make_face_frame([(150 + 8 * step, 200, 90), (470 - 8 * step, 260, 110)])
            result = pipeline.process(frame)
            pipeline.wait_for_background_detection(10.0)
            flags.append(result.full_detection)
            if step >= 2:
                assert len(result.faces) == 2, f"frame {step}"
                ids.update(face.track_id for face in result.faces)
        assert len(ids) == 2  # followed by region search without new ids
        assert False in flags[1:]
    finally:
        pipeline.close()
