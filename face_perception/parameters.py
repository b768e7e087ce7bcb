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
Every node's parameters: names, defaults, types, ranges, meaning and when they apply, in one place.

``PARAMETERS`` is the single source of truth for the face_perception node: the node declares,
validates and applies its parameters from it (dotted names as ROS 2 uses them in YAML and
``ros2 param set``), :class:`PipelineConfig` is built and validated from its pipeline-level
part, and the docs list it (:func:`parameter_table`). Node-level parameters (topics,
diagnostics, message conversion) are the ROS node's own; pipeline-level ones configure
:class:`~face_perception.pipeline.pipeline.FacePerceptionPipeline`. ``PipelineConfig``
mirrors their names: ``detection.scale_factor`` is ``config.detection.scale_factor``.
The image source and the HRI aggregator nodes have their tables here too (:data:`TABLES`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import math
from typing import Any, Mapping, Union

ParameterValue = Union[bool, int, float, str, list]

# Where a parameter of the face_perception node is used (ParameterSpec.scope).
PIPELINE = "pipeline"  # PipelineConfig: the pure-Python pipeline
NODE = "node"  # the ROS node itself: topics, diagnostics, message conversion


class ConfigError(ValueError):
    """A parameter is unknown or has a value of the wrong type or outside its range."""


@dataclass(frozen=True)
class ParameterSpec:
    """
    One parameter, with its bounds and special values.

    ``min``/``max`` bound numbers (inclusive); ``special`` lists values allowed outside that
    range with their own meaning (such as 0 = "off"). ``scope``: :data:`PIPELINE` or :data:`NODE`.
    ``startup_only``: read when the node starts; a later change is refused (restart the node).
    ``read_only``: also declared read-only to ROS, which refuses any change itself.
    ``type`` ``list`` is a list of strings; a ``default`` of None means there is none (the
    parameter must be given).
    """

    name: str
    default: ParameterValue
    type: type  # noqa: A003 (field names are the parameter table's API)
    description: str
    min: float | None = None  # noqa: A003
    max: float | None = None  # noqa: A003
    choices: tuple[ParameterValue, ...] | None = None
    special: tuple[ParameterValue, ...] = ()
    scope: str = PIPELINE
    startup_only: bool = False
    read_only: bool = False

    def as_row(self) -> dict[str, Any]:
        """Return this parameter as plain data (for the docs): every field, the type by name."""
        row = dataclasses.asdict(self)
        row["type"] = TYPE_NAMES[self.type]
        row["choices"] = None if self.choices is None else list(self.choices)
        row["special"] = list(self.special)
        return row


TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list of str"}


# The input topic's default (face_perception.ros.topics re-exports it with the other topic names).
DEFAULT_IMAGE_TOPIC = "camera/image_raw"
DETECTION_BACKENDS = ("haar", "blazeface", "yunet")
BLAZEFACE_MODELS = ("full_range", "short_range")
HAAR_KEYPOINT_SOURCES = ("blazeface", "box")
# Chosen on validation faces of every origin group so the worst group's impostor rate is at
# most 1 in 1,000 pairs (scripts/measurements/evaluate_identity_origins.py, docs/identity.md).
IDENTITY_MATCH_THRESHOLD = 0.39

PARAMETERS: tuple[ParameterSpec, ...] = (
    # --- the ROS node (scope NODE) ---------------------------------------------------------
    ParameterSpec("image_topic", DEFAULT_IMAGE_TOPIC, str,
                  "sensor_msgs/Image topic to watch; a relative name resolves in the node's namespace "
                  "(read at start-up)", scope=NODE, startup_only=True),
    ParameterSpec("use_compressed", False, bool,
                  "subscribe to sensor_msgs/CompressedImage on <image_topic>/compressed instead (read at start-up)",
                  scope=NODE, startup_only=True),
    ParameterSpec("camera_info_topic", "", str,
                  "sensor_msgs/CameraInfo of the camera, counted against the images to see frames lost on the way, "
                  "and the intrinsics of the head pose (head_pose.enabled); empty = camera_info beside image_topic "
                  "(read at start-up)", scope=NODE, startup_only=True),
    ParameterSpec("publish_annotated_image", True, bool, "draw and publish /faces/annotated_image", scope=NODE),
    ParameterSpec("diagnostics_period", 1.0, float, "seconds between /diagnostics messages (read at start-up)",
                  0.1, 60.0, scope=NODE, startup_only=True),
    ParameterSpec("hri.enabled", False, bool,
                  "also publish the ROS4HRI (REP-155) face topics under /humans/faces; needs hri_msgs (read at "
                  "start-up)", scope=NODE, startup_only=True),
    ParameterSpec("diagnostics.stale_after", 2.0, float,
                  "seconds without an image after the first one before /diagnostics reports ERROR "
                  "(WARN from half this time; back to OK when images return)", 0.1, 3600.0, scope=NODE),
    ParameterSpec("max_image_pixels", 4096 * 4096, int,
                  "frames with more pixels (width x height) are skipped as bad frames before any copy "
                  "of the image is made", 64 * 64, 16384 * 16384, scope=NODE),
    ParameterSpec("gaze.looking_at_camera_deg", 15.0, float,
                  "FaceAttributes.looking_at_camera is true while the eyes' gaze is at most this many degrees "
                  "from the line to the camera (the gaze's own error is 5-15 degrees: "
                  "scripts/measurements/measure_gaze.py)",
                  1.0, 90.0, scope=NODE),
    # --- head pose and gaze (intrinsics from camera_info_topic; smoothed by the pipeline) ---
    ParameterSpec("head_pose.enabled", True, bool,
                  "estimate each face's 3-D head pose from its keypoints and the camera_info intrinsics: "
                  "FaceAttributes.position and, with hri.enabled, the face_<id>/gaze_<id> frames on /tf "
                  "(needs tf2_msgs then; read at start-up)", startup_only=True),
    ParameterSpec("head_pose.min_cutoff", 1.0, float,
                  "One-Euro smoothing of the head pose over a track: cutoff frequency (Hz) of a still "
                  "head; lower = steadier, more lag", 0.01, 100.0),
    ParameterSpec("head_pose.beta", 2.0, float,
                  "One-Euro: how fast the cutoff rises with the head's speed (per m/s, and per unit of "
                  "quaternion change per second); higher = less lag when it moves", 0.0, 1000.0),
    ParameterSpec("head_pose.d_cutoff", 1.0, float,
                  "One-Euro: cutoff frequency (Hz) of the speed estimate", 0.01, 100.0),
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
                  "data, no images) in identity.database (read at start-up)", startup_only=True),
    ParameterSpec("identity.database", "~/.ros/face_perception/persons.db", str,
                  "SQLite persons file (created owner-only, WAL: several camera nodes may share it); "
                  "~ is expanded (read at start-up)", startup_only=True),
    ParameterSpec("identity.match_threshold", IDENTITY_MATCH_THRESHOLD, float,
                  "largest descriptor distance at which a face is the stored person (chosen on validation "
                  "faces of every origin group: the worst group's impostor rate is at most 1 in 1,000 pairs, "
                  "docs/identity.md); lower = fewer false matches, more new persons",
                  0.05, 2.0),
    ParameterSpec("identity.match_margin", 0.03, float,
                  "a face is the nearest stored person only if every other person is at least this much "
                  "farther (descriptor distance); closer calls leave the face undecided rather than naming "
                  "either", 0.0, 1.0),
    ParameterSpec("identity.evidence_needed", 2, int,
                  "descriptors of a track that must agree (the same person, or no one: a new person) before "
                  "the track is given a person; 1 = decide on the first descriptor", 1, 30),
    ParameterSpec("identity.evidence_window", 3, int,
                  "the newest descriptors of a still undecided track that are weighed (evidence_needed of "
                  "them must agree; a window smaller than evidence_needed counts as evidence_needed)", 1, 30),
    ParameterSpec("identity.evidence_interval", 0.3, float,
                  "seconds between two descriptors of a track that has no person yet (afterwards: "
                  "refresh_interval)", 0.0, 60.0),
    ParameterSpec("identity.same_track_threshold", 0.6, float,
                  "a later descriptor of a track that has its person is stored for that person if within "
                  "this distance of them (the track vouches for who it is: new poses and lights are kept) "
                  "and no other person claims it", 0.05, 2.0),
    ParameterSpec("identity.min_eye_distance", 16.0, float,
                  "quality gate: faces whose eyes are closer than this (source pixels) are neither stored "
                  "nor matched; the track waits for a better frame", 0.0, 1000.0),
    ParameterSpec("identity.max_turn", 0.3, float,
                  "quality gate: faces turned further than this (nose tip's offset from the eyes' mid-point, "
                  "in eye distances; about 0.3 = a half-profile) are neither stored nor matched", 0.0, 1.0),
    ParameterSpec("identity.min_sharpness", 0.0, float,
                  "quality gate: faces blurrier than this (variance of the Laplacian of the aligned chip's "
                  "centre) are neither stored nor matched", 0.0, 100000.0),
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
    # --- engagement and proxemics (ROS4HRI persons; face_perception.interaction.engagement) ---
    ParameterSpec("engagement.enabled", True, bool,
                  "with hri.enabled: a REP-155 person for every tracked face (anonymous, living as long as the "
                  "track; identity.enabled gives its own persons instead), each person's engagement_status and "
                  "the proxemic lists /humans/persons/in_{personal,social,public}_space (read at start-up)",
                  startup_only=True),
    ParameterSpec("engagement.window", 2.0, float,
                  "seconds of engagement scores averaged into the engagement value; the states follow it with "
                  "about this delay (docs/engagement.md)", 0.1, 30.0),
    ParameterSpec("engagement.field_of_view", 60.0, float,
                  "full angle (degrees) of both gazes' field of view: a person looking at the robot, and the "
                  "robot at the person, counts 1 straight on and 0 at half this angle", 5.0, 180.0),
    ParameterSpec("engagement.max_distance", 4.0, float,
                  "metres from which a person counts as not engaged; the distance weight is 1 up to half of it "
                  "and falls linearly to 0 at it", 0.5, 20.0),
    ParameterSpec("engagement.engaging_threshold", 0.25, float,
                  "window mean score at which a DISENGAGED person becomes ENGAGING (and below which, less the "
                  "hysteresis, ENGAGING or DISENGAGING become DISENGAGED); below engaged_threshold", 0.01, 1.0),
    ParameterSpec("engagement.engaged_threshold", 0.5, float,
                  "window mean score at which an ENGAGING or DISENGAGING person becomes ENGAGED (and below "
                  "which, less the hysteresis, ENGAGED becomes DISENGAGING)", 0.01, 1.0),
    ParameterSpec("engagement.hysteresis", 0.05, float,
                  "margin below a threshold before a state falls back across it, so a mean hovering at a "
                  "threshold does not flip the state; below engaged_threshold - engaging_threshold", 0.0, 0.5),
    ParameterSpec("engagement.reference_frame", "", str,
                  "TF frame of the robot's gaze: its origin is where the robot is, its x axis where it looks "
                  "(REP-103 body frame), looked up on /tf and /tf_static from the images' frame_id; empty = the "
                  "camera itself, looking along its optical axis (read at start-up)", startup_only=True),
    ParameterSpec("engagement.personal_distance", 1.2, float,
                  "metres: persons this near are listed in /humans/persons/in_personal_space (Hall's personal "
                  "zone)", 0.1, 50.0),
    ParameterSpec("engagement.social_distance", 3.6, float,
                  "metres: persons beyond personal_distance and up to this are in_social_space", 0.1, 50.0),
    ParameterSpec("engagement.public_distance", 7.6, float,
                  "metres: persons beyond social_distance and up to this are in_public_space; farther, in no "
                  "list", 0.1, 100.0),
    # --- whole pipeline ---------------------------------------------------------------------
    ParameterSpec("max_faces", 10, int,
                  "most faces classified per frame (the largest are kept)", 1, 256),
)

PARAMETERS_BY_NAME: dict[str, ParameterSpec] = {spec.name: spec for spec in PARAMETERS}
# The part PipelineConfig holds.
PIPELINE_PARAMETERS: tuple[ParameterSpec, ...] = tuple(spec for spec in PARAMETERS if spec.scope == PIPELINE)

# The image source node (face_perception.ros.image_source_node): read at start-up.
IMAGE_SOURCE_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("source", "demo", str, "'demo', a video file, an image file or folder, or 'camera:<index>'",
                  scope=NODE, startup_only=True),
    ParameterSpec("topic", DEFAULT_IMAGE_TOPIC, str,
                  "output sensor_msgs/Image topic (a relative name is in the node's namespace)",
                  scope=NODE, startup_only=True),
    ParameterSpec("frame_id", "camera_optical_frame", str, "header.frame_id of the published images",
                  scope=NODE, startup_only=True),
    ParameterSpec("rate", 10.0, float, "publishing rate in Hz", 0.1, 240.0, scope=NODE, startup_only=True),
    ParameterSpec("horizontal_fov_deg", 60.0, float,
                  "horizontal field of view of the published CameraInfo's nominal intrinsics", 1.0, 179.0,
                  scope=NODE, startup_only=True),
    ParameterSpec("loop", True, bool, "restart at the end of a file, folder or the demo sequence",
                  scope=NODE, startup_only=True),
    ParameterSpec("wait_for_subscribers", False, bool, "publish nothing until the topic has a subscriber",
                  scope=NODE, startup_only=True),
    ParameterSpec("max_frames", 0, int, "stop after this many frames (0 = never)", 0, 10**9,
                  scope=NODE, startup_only=True),
    ParameterSpec("demo.width", 640, int, "demo frame width", 64, 7680, scope=NODE, startup_only=True),
    ParameterSpec("demo.height", 480, int, "demo frame height", 64, 4320, scope=NODE, startup_only=True),
    ParameterSpec("demo.num_faces", 1, int, "faces in the demo frames", 0, 64, scope=NODE, startup_only=True),
    ParameterSpec("demo.num_frames", 40, int, "frames in one demo cycle", 1, 100000, scope=NODE,
                  startup_only=True),
)

# The HRI aggregator node (face_perception.ros.hri_aggregator_node): read-only.
HRI_AGGREGATOR_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("tracked_topics", None, list,
                  "each camera's hri_msgs/IdsList of live faces, e.g. /front/humans/faces/tracked "
                  "(read at start-up)", scope=NODE, startup_only=True, read_only=True),
    ParameterSpec("source_timeout", 2.0, float,
                  "seconds without a camera's list before its faces leave the merged list (read at start-up)",
                  0.1, 60.0, scope=NODE, startup_only=True, read_only=True),
)

# Node name -> its parameters.
TABLES: dict[str, tuple[ParameterSpec, ...]] = {
    "face_perception": PARAMETERS,
    "image_source": IMAGE_SOURCE_PARAMETERS,
    "hri_aggregator": HRI_AGGREGATOR_PARAMETERS,
}


def parameter_table(node: str = "face_perception") -> list[dict[str, Any]]:
    """Return a node's parameters as plain data, in declaration order (:meth:`ParameterSpec.as_row`)."""
    if node not in TABLES:
        raise ConfigError(f"no parameter table for node '{node}' (known: {', '.join(TABLES)})")
    return [spec.as_row() for spec in TABLES[node]]


def validate_value(name: str, value: Any) -> ParameterValue:
    """
    Check ``value`` for the face_perception node's parameter ``name``; return it in the parameter's type.

    See :func:`validate`. Raises :class:`ConfigError` naming the parameter and the value, also
    for a name the node does not have.
    """
    spec = PARAMETERS_BY_NAME.get(name)
    if spec is None:
        raise ConfigError(f"unknown parameter '{name}' = {value!r}")
    return validate(spec, value)


def validate(spec: ParameterSpec, value: Any) -> ParameterValue:
    """
    Check ``value`` against ``spec`` and return it in the parameter's type.

    Integers are accepted for float parameters (YAML ``1`` for ``1.0``); nothing else is
    converted. Raises :class:`ConfigError` naming the parameter and the value.
    """
    name = spec.name
    if spec.type is bool:
        ok = isinstance(value, bool)
    elif spec.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif spec.type is list:
        ok = isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, spec.type)
    if not ok:
        expected = "list of str" if spec.type is list else spec.type.__name__
        raise ConfigError(f"parameter '{name}' = {value!r} has type {type(value).__name__}, expected {expected}")
    if spec.type is list:
        return list(value)
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
class HeadPoseConfig:
    enabled: bool
    min_cutoff: float
    beta: float
    d_cutoff: float


@dataclass(frozen=True)
class IdentityConfig:
    enabled: bool
    database: str
    match_threshold: float
    refresh_interval: float
    max_embeddings_per_person: int
    anonymous_retention: float
    rejoin_gap: float
    match_margin: float
    evidence_needed: int
    evidence_window: int
    evidence_interval: float
    same_track_threshold: float
    min_eye_distance: float
    max_turn: float
    min_sharpness: float


@dataclass(frozen=True)
class EngagementConfig:
    enabled: bool
    window: float
    field_of_view: float
    max_distance: float
    engaging_threshold: float
    engaged_threshold: float
    hysteresis: float
    reference_frame: str
    personal_distance: float
    social_distance: float
    public_distance: float

    def __post_init__(self) -> None:
        # Checks between parameters (each one's own range is checked by validate_value).
        if not self.engaging_threshold < self.engaged_threshold:
            raise ConfigError(f"parameter 'engagement.engaging_threshold' = {self.engaging_threshold!r} must be "
                              f"below 'engagement.engaged_threshold' = {self.engaged_threshold!r}")
        if not self.hysteresis < self.engaged_threshold - self.engaging_threshold:
            raise ConfigError(f"parameter 'engagement.hysteresis' = {self.hysteresis!r} must be below "
                              "engagement.engaged_threshold - engagement.engaging_threshold = "
                              f"{self.engaged_threshold - self.engaging_threshold:g}")
        if not self.personal_distance < self.social_distance < self.public_distance:
            raise ConfigError(f"parameters 'engagement.personal_distance' = {self.personal_distance!r}, "
                              f"'engagement.social_distance' = {self.social_distance!r} and "
                              f"'engagement.public_distance' = {self.public_distance!r} must increase")


_SECTIONS = {"detection": DetectionConfig, "classification": ClassificationConfig, "tracking": TrackingConfig,
             "face_mesh": FaceMeshConfig, "head_pose": HeadPoseConfig, "identity": IdentityConfig,
             "engagement": EngagementConfig}


@dataclass(frozen=True)
class PipelineConfig:
    """Validated values of every parameter in :data:`PIPELINE_PARAMETERS`."""

    detection: DetectionConfig
    classification: ClassificationConfig
    tracking: TrackingConfig
    face_mesh: FaceMeshConfig
    head_pose: HeadPoseConfig
    identity: IdentityConfig
    engagement: EngagementConfig
    max_faces: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None) -> "PipelineConfig":
        """Defaults overridden by ``values`` (dotted names); every value is validated."""
        merged: dict[str, Any] = {spec.name: spec.default for spec in PIPELINE_PARAMETERS}
        for name, value in (values or {}).items():
            value = validate_value(name, value)
            if name not in merged:
                raise ConfigError(f"parameter '{name}' = {value!r} is the ROS node's, not the pipeline's")
            merged[name] = value
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
    spec_names = {spec.name for spec in PIPELINE_PARAMETERS}
    if field_names != spec_names or len(PARAMETERS_BY_NAME) != len(PARAMETERS):
        raise RuntimeError(f"PARAMETERS and PipelineConfig disagree: {sorted(field_names ^ spec_names)}")
    for node, table in TABLES.items():
        if len({spec.name for spec in table}) != len(table):
            raise RuntimeError(f"the {node} parameter table names a parameter twice")
        for spec in table:
            if spec.scope not in (PIPELINE, NODE) or spec.read_only and not spec.startup_only:
                raise RuntimeError(f"parameter '{spec.name}': bad scope or read_only without startup_only")
            if spec.default is not None:
                validate(spec, spec.default)


_check_specs_match_config()
