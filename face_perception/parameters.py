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
The pipeline's tunable parameters: names, defaults, types, ranges and meaning, in one place.

``PARAMETERS`` is the single source of truth: the ROS node declares its parameters from it
(dotted names as ROS 2 uses them in YAML and ``ros2 param set``), :class:`PipelineConfig`
is built and validated from it, and the docs list it. ``PipelineConfig`` mirrors the names:
``detection.scale_factor`` is ``config.detection.scale_factor``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import math
from typing import Any, Mapping, Union

ParameterValue = Union[bool, int, float, str]


class ConfigError(ValueError):
    """A parameter is unknown or has a value of the wrong type or outside its range."""


@dataclass(frozen=True)
class ParameterSpec:
    """
    One parameter, with its bounds and special values.

    One parameter. ``min``/``max`` bound numbers (inclusive); ``special`` lists values
    allowed outside that range with their own meaning (such as 0 = "off").
    """

    name: str
    default: ParameterValue
    type: type  # noqa: A003 (field names are the parameter table's API)
    description: str
    min: float | None = None  # noqa: A003
    max: float | None = None  # noqa: A003
    choices: tuple[ParameterValue, ...] | None = None
    special: tuple[ParameterValue, ...] = ()


DETECTION_BACKENDS = ("haar", "blazeface", "yunet")
BLAZEFACE_MODELS = ("full_range", "short_range")
HAAR_KEYPOINT_SOURCES = ("blazeface", "box")
# Chosen on LFW validation people (scripts/evaluate_identity.py, docs/identity.md).
IDENTITY_MATCH_THRESHOLD = 0.53

PARAMETERS: tuple[ParameterSpec, ...] = (
    # --- detection -------------------------------------------------------------------------
    ParameterSpec("detection.backend", "haar", str,
                  "face detector: 'haar' (OpenCV's Haar cascade, the specified default; the "
                  "detection.* parameters marked 'Haar' apply to it) or 'blazeface' (MediaPipe's "
                  "BlazeFace DNN run by LiteRT: finds far, small and turned faces with fewer false "
                  "ones, at a fixed cost per frame; the 'BlazeFace' parameters apply to it) or 'yunet' "
                  "(OpenCV's YuNet DNN at the frame's resolution: faces from ~16 px, i.e. up to ~4 m "
                  "in 640x480, docs/detection.md; the 'YuNet' parameters apply to it); "
                  "can be switched at run time, tracks are kept",
                  choices=DETECTION_BACKENDS),
    ParameterSpec("detection.scale_factor", 1.1, float,
                  "Haar: cascade image pyramid step; smaller finds more faces but is slower",
                  1.01, 2.0),
    ParameterSpec("detection.min_neighbors", 5, int,
                  "Haar: overlapping raw hits needed to keep a face; higher = fewer false positives",
                  0, 50),
    ParameterSpec("detection.min_face_size", 40, int,
                  "Haar: smallest face side to report, in source image pixels", 8, 4096),
    ParameterSpec("detection.max_width", 480, int,
                  "Haar: downscale frames wider than this before detection (boxes are mapped back); "
                  "0 = detect at full resolution. Faces smaller than about 24 * width / max_width "
                  "source pixels are then out of reach. On 640x480 group photos 480 kept 21 of the "
                  "23 faces full resolution found at ~0.7x its time; 320 kept 14",
                  160, 8192, special=(0,)),
    ParameterSpec("detection.equalize_histogram", True, bool,
                  "Haar: equalise the grey image's histogram before detection (helps in dim or flat light)"),
    ParameterSpec("detection.cascade_file", "", str,
                  "Haar: cascade XML; empty = OpenCV's haarcascade_frontalface_default.xml"),
    ParameterSpec("detection.redetect_interval", 1, int,
                  "run the full-frame detector every N frames; in between only regions around "
                  "tracked faces are searched (1 = full detection every frame)",
                  1, 100),
    ParameterSpec("detection.background", False, bool,
                  "run the full-frame detection on a thread of its own (every redetect_interval "
                  "frames, one at a time) and add the new faces it finds to a later frame: each frame "
                  "then only searches around tracked faces, for a steady latency on multi-core CPUs; "
                  "new faces appear one full detection later"),
    ParameterSpec("detection.region_scale", 2.0, float,
                  "side of the region searched around a tracked face between full detections, "
                  "as a multiple of the face box side",
                  1.2, 4.0),
    ParameterSpec("detection.blazeface_model", "full_range", str,
                  "BlazeFace: 'full_range' (192x192 input; faces down to about 1/40 of the frame "
                  "side, i.e. ~16 px in 640x480) or 'short_range' (128x128; faster, only faces "
                  "filling over about 1/8 of the frame, i.e. within ~1.5 m)",
                  choices=BLAZEFACE_MODELS),
    ParameterSpec("detection.blazeface_min_confidence", 0.5, float,
                  "BlazeFace: least face probability to report a face (MediaPipe uses 0.5); "
                  "higher = fewer false faces, fewer far faces",
                  0.05, 0.99),
    ParameterSpec("detection.blazeface_tiles", 1, int,
                  "BlazeFace: a full detection reads the whole frame and, above 1, also N x N "
                  "overlapping tiles of it, where faces are N times larger: 2 finds most faces from "
                  "~32 px in 640x480 instead of ~64 px, at 5x the cost (pair it with "
                  "detection.background)",
                  1, 4),
    ParameterSpec("detection.yunet_model", "", str,
                  "YuNet: the .onnx model file; empty = face_detection_yunet_2023mar.onnx shipped in the "
                  "package's models/ directory (MIT, README beside it)"),
    ParameterSpec("detection.yunet_min_confidence", 0.6, float,
                  "YuNet: least score to report a face (OpenCV's sample uses 0.9); lower finds more "
                  "small, dim and turned faces and more false ones (docs/detection.md)",
                  0.05, 0.99),
    ParameterSpec("detection.yunet_nms_iou", 0.3, float,
                  "YuNet: candidate boxes overlapping a better one by more than this (IoU) are the same face",
                  0.05, 0.95),
    ParameterSpec("detection.yunet_max_width", 0, int,
                  "YuNet: downscale frames wider than this before a full detection (boxes are mapped "
                  "back); 0 = full resolution. The cost grows with the pixels (1280x720 is ~3x 640x480); "
                  "faces below ~10 * width / yunet_max_width source pixels are then out of reach",
                  160, 8192, special=(0,)),
    ParameterSpec("detection.haar_keypoints", "blazeface", str,
                  "Haar: where a Haar face's eyes and mouth come from, for models framed on them "
                  "(card input.framing 'eyes_mouth'): 'blazeface' (a short-range BlazeFace pass inside "
                  "each Haar box, ~1 ms per face; the box's mean layout where it finds none) or 'box' "
                  "(the mean layout in the Haar box only)",
                  choices=HAAR_KEYPOINT_SOURCES),
    # --- classification --------------------------------------------------------------------
    ParameterSpec("classification.emotion_model", "", str,
                  "emotion .tflite file (its card: same path, .tflite -> .card.json); "
                  "empty = the model shipped in the package's models/ directory"),
    ParameterSpec("classification.gender_model", "", str,
                  "gender .tflite file (its card: same path, .tflite -> .card.json); "
                  "empty = the model shipped in the package's models/ directory"),
    ParameterSpec("classification.age_model", "", str,
                  "age .tflite file (its card: same path, .tflite -> .card.json); empty = the shipped "
                  "models/age.tflite, or no age model if the package ships none; 'none' = no age model "
                  "(FaceAttributes.age is then NaN and age_confidence 0)"),
    ParameterSpec("classification.crop_margin", 0.1, float,
                  "for models whose card names no framing (older cards): margin added on each side "
                  "of the face box before classification, as a fraction of the box side (0.1 = +10%), "
                  "clipped to the image; models with a card framing (input.framing) ignore it",
                  0.0, 1.0),
    ParameterSpec("classification.num_threads", 1, int,
                  "CPU threads for each LiteRT interpreter", 1, 64),
    ParameterSpec("classification.flip_tta", False, bool,
                  "average each model's output over the face and its mirror image: about +1 to +1.5 "
                  "accuracy points on the test splits (docs/evaluation), twice the classification time"),
    ParameterSpec("classification.gender_min_confidence", 0.6, float,
                  "smoothed gender probability below which the gender is reported as 'unknown'",
                  0.0, 1.0),
    ParameterSpec("classification.min_face_size", 32, int,
                  "faces narrower than this (box width, source pixels) are too small to read: their "
                  "frame adds nothing to the track's gender, emotion and age (a face never seen larger "
                  "reads gender and emotion 'unknown' with confidence 0 and age NaN; a track seen "
                  "larger keeps its reading as its confidence decays); 0 = read every face. "
                  "Accuracy by face size: docs/detection.md",
                  0, 4096),
    ParameterSpec("classification.child_threshold", 0.5, float,
                  "FaceAttributes.is_child is true while child_probability (the calibrated probability "
                  "of a child under 13, from the age model) is at least this; lower = fewer children "
                  "missed, more adults called children (docs/evaluation/is_child.md)",
                  0.0, 1.0),
    # --- tracking ---------------------------------------------------------------------------
    ParameterSpec("tracking.iou_threshold", 0.3, float,
                  "least overlap (IoU) between a track's predicted box and a detection to match "
                  "them; below it a match needs the centres within half a face width",
                  0.0, 1.0),
    ParameterSpec("tracking.max_missed_frames", 5, int,
                  "frames a track survives without a matching detection before it is dropped "
                  "(a face returning later gets a new id)",
                  0, 1000),
    ParameterSpec("tracking.smoothing", 0.5, float,
                  "exponential smoothing of the probabilities over a track: weight of the newest "
                  "frame (1.0 = no smoothing)",
                  0.01, 1.0),
    # --- face mesh ----------------------------------------------------------------------------
    ParameterSpec("face_mesh.enabled", True, bool,
                  "measure each tracked face's 468-point face mesh (MediaPipe's face_landmark.tflite, about "
                  "1.7 ms per face on one core) while an output reads it: REP-155 landmarks (hri.enabled), the "
                  "head pose (with a camera_info), the eye gaze, FaceAttributes.mouth_open (with a "
                  "/faces/attributes subscriber); false = the detector's six keypoints only"),
    ParameterSpec("face_mesh.min_face_size", 48, int,
                  "faces narrower than this (box width, source pixels) get no mesh and keep the detector's "
                  "six keypoints: below it the mesh's crop is upsampled noise", 24, 4096),
    ParameterSpec("face_mesh.interval", 3, int,
                  "run the mesh on a track at most every N frames; in between its last mesh follows the "
                  "track's box (N = 1: every frame, the most precise and the most costly)", 1, 30),
    ParameterSpec("face_mesh.irises", True, bool,
                  "also run the iris model on both eyes with each mesh (about 1.6 ms per eye): the pupils "
                  "(REP-155 landmarks 68, 69) and the eye gaze; false = no eye gaze (the gaze frame then "
                  "follows the head)"),
    # --- identity (biometric: off by default) ----------------------------------------------
    ParameterSpec("identity.enabled", False, bool,
                  "recognise returning people: a face descriptor per track (dlib's ResNet, on a worker "
                  "thread) matched against the persons database; stores face descriptors (biometric "
                  "data, no images) in identity.database (read at start-up)"),
    ParameterSpec("identity.database", "~/.ros/face_perception/persons.db", str,
                  "SQLite persons file (created owner-only, WAL: several camera nodes may share it); "
                  "~ is expanded (read at start-up)"),
    ParameterSpec("identity.match_threshold", IDENTITY_MATCH_THRESHOLD, float,
                  "largest descriptor distance at which a face is the stored person (chosen on LFW "
                  "validation people, docs/identity.md); lower = fewer false matches, more new persons",
                  0.05, 2.0),
    ParameterSpec("identity.refresh_interval", 3.0, float,
                  "seconds between two descriptors of the same track (the first comes as the track starts)",
                  0.2, 3600.0),
    ParameterSpec("identity.max_embeddings_per_person", 10, int,
                  "descriptors kept per person (the newest); more describe more poses and lights",
                  1, 1000),
    ParameterSpec("identity.anonymous_retention", 86400.0, float,
                  "seconds an unnamed person is kept after they were last seen; then every row of theirs "
                  "is deleted (named persons stay until forgotten)",
                  1.0, 3.2e7),
    ParameterSpec("identity.rejoin_gap", 10.0, float,
                  "a face recognised within this many seconds of losing its track continues that track "
                  "(id and smoothed attributes)",
                  0.0, 3600.0),
    # --- whole pipeline ---------------------------------------------------------------------
    ParameterSpec("max_faces", 10, int,
                  "most faces classified per frame (the largest are kept)", 1, 256),
)

PARAMETERS_BY_NAME: dict[str, ParameterSpec] = {spec.name: spec for spec in PARAMETERS}


def validate_value(name: str, value: Any) -> ParameterValue:
    """
    Check ``value`` for parameter ``name`` and return it in the parameter's type.

    Integers are accepted for float parameters (YAML ``1`` for ``1.0``); nothing else is
    converted. Raises :class:`ConfigError` naming the parameter and the value.
    """
    spec = PARAMETERS_BY_NAME.get(name)
    if spec is None:
        raise ConfigError(f"unknown parameter '{name}' = {value!r}")
    if spec.type is bool:
        ok = isinstance(value, bool)
    elif spec.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, spec.type)
    if not ok:
        raise ConfigError(
            f"parameter '{name}' = {value!r} has type {type(value).__name__}, expected {spec.type.__name__}"
        )
    if spec.type is float:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"parameter '{name}' = {value!r} is not a finite number")
    if value in spec.special:
        return value
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"parameter '{name}' = {value!r} is not one of {spec.choices}")
    if spec.min is not None and value < spec.min or spec.max is not None and value > spec.max:
        allowed = f"{spec.min}..{spec.max}"
        if spec.special:
            allowed += " or " + ", ".join(repr(v) for v in spec.special)
        raise ConfigError(f"parameter '{name}' = {value!r} is outside {allowed}")
    return value


@dataclass(frozen=True)
class DetectionConfig:
    backend: str
    scale_factor: float
    min_neighbors: int
    min_face_size: int
    max_width: int
    equalize_histogram: bool
    cascade_file: str
    redetect_interval: int
    background: bool
    region_scale: float
    blazeface_model: str
    blazeface_min_confidence: float
    blazeface_tiles: int
    yunet_model: str
    yunet_min_confidence: float
    yunet_nms_iou: float
    yunet_max_width: int
    haar_keypoints: str


@dataclass(frozen=True)
class ClassificationConfig:
    emotion_model: str
    gender_model: str
    age_model: str
    crop_margin: float
    num_threads: int
    flip_tta: bool
    gender_min_confidence: float
    min_face_size: int
    child_threshold: float


@dataclass(frozen=True)
class TrackingConfig:
    iou_threshold: float
    max_missed_frames: int
    smoothing: float


@dataclass(frozen=True)
class FaceMeshConfig:
    enabled: bool
    min_face_size: int
    interval: int
    irises: bool


@dataclass(frozen=True)
class IdentityConfig:
    enabled: bool
    database: str
    match_threshold: float
    refresh_interval: float
    max_embeddings_per_person: int
    anonymous_retention: float
    rejoin_gap: float


_SECTIONS = {"detection": DetectionConfig, "classification": ClassificationConfig, "tracking": TrackingConfig,
             "face_mesh": FaceMeshConfig, "identity": IdentityConfig}


@dataclass(frozen=True)
class PipelineConfig:
    """Validated values of every parameter in :data:`PARAMETERS`."""

    detection: DetectionConfig
    classification: ClassificationConfig
    tracking: TrackingConfig
    face_mesh: FaceMeshConfig
    identity: IdentityConfig
    max_faces: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None) -> "PipelineConfig":
        """Defaults overridden by ``values`` (dotted names); every value is validated."""
        merged: dict[str, Any] = {spec.name: spec.default for spec in PARAMETERS}
        for name, value in (values or {}).items():
            merged[name] = validate_value(name, value)
        sections: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
        top: dict[str, Any] = {}
        for name, value in merged.items():
            section, _, field = name.rpartition(".")
            (sections[section] if section else top)[field] = value
        return cls(**{section: _SECTIONS[section](**fields) for section, fields in sections.items()}, **top)

    @classmethod
    def defaults(cls) -> "PipelineConfig":
        return cls.from_mapping({})

    def to_mapping(self) -> dict[str, ParameterValue]:
        """Dotted name -> value for every parameter."""
        result: dict[str, ParameterValue] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if dataclasses.is_dataclass(value):
                for inner in dataclasses.fields(value):
                    result[f"{field.name}.{inner.name}"] = getattr(value, inner.name)
            else:
                result[field.name] = value
        return result

    def with_updates(self, values: Mapping[str, Any]) -> "PipelineConfig":
        """Return a new config with ``values`` changed (e.g. from a live ``ros2 param set``)."""
        return PipelineConfig.from_mapping({**self.to_mapping(), **dict(values)})


def _check_specs_match_config() -> None:
    # Fail at import, not at run time, if a parameter and the config fields drift apart.
    field_names: set[str] = set()
    for field in dataclasses.fields(PipelineConfig):
        section = _SECTIONS.get(field.name)
        if section is None:
            field_names.add(field.name)
        else:
            field_names.update(f"{field.name}.{inner.name}" for inner in dataclasses.fields(section))
    spec_names = set(PARAMETERS_BY_NAME)
    if field_names != spec_names or len(PARAMETERS_BY_NAME) != len(PARAMETERS):
        raise RuntimeError(f"PARAMETERS and PipelineConfig disagree: {sorted(field_names ^ spec_names)}")
    for spec in PARAMETERS:
        validate_value(spec.name, spec.default)


_check_specs_match_config()
