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
The whole per-frame pipeline: detect -> crop -> run every face model (one batch each) -> track.

The face models are the configured :data:`~face_perception.classification.classification.ATTRIBUTES`,
all run alike (:class:`~face_perception.classification.face_model.FaceModel`): each output is
smoothed per track by the model's name and read into a :class:`FaceResult`'s ``outputs``.
With the camera's intrinsics, each face also gets its head pose and gaze, smoothed per track
(:mod:`~face_perception.pipeline.pose_smoothing`). No ROS here: the node converts messages
to arrays, calls :meth:`FacePerceptionPipeline.process` and turns the :class:`FrameResult`
back into messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math
import time
from typing import Mapping, Sequence

import cv2
import numpy as np

from face_perception.classification.classification import load_face_models
from face_perception.classification.face_model import FaceModel, FaceOutput
from face_perception.classification.framing import BOX_KEYPOINT_PRIORS, EyesMouthFraming
from face_perception.classification.preprocessing import build_batch, frame_faces, InputSpec
from face_perception.detection.background_detection import BackgroundDetector, merge_new_faces
from face_perception.detection.detection import Detection, Keypoints, PreparedFrame
from face_perception.detection.detectors import create_detector
from face_perception.detection.keypoints import RegionKeypointFinder
from face_perception.detection.landmarks import FaceLandmarker, FaceLandmarks
from face_perception.geometry.gaze import Gaze
from face_perception.geometry.head_pose import CameraModel, HeadPose
from face_perception.geometry.mesh_tracking import MeshTracks, TrackMesh
from face_perception.identity.face_embedding import DlibFaceEmbedder, EmbeddingUnavailable
from face_perception.identity.person_matching import PersonMatch
from face_perception.identity.persons_db import PersonStoreError
from face_perception.identity.track_identities import IdentityWorker, TrackIdentities
from face_perception.parameters import IdentityConfig, PipelineConfig
from face_perception.pipeline.pose_smoothing import PoseSmoothing, SmoothedPoses
from face_perception.tracking.tracking import FaceTracker, TrackedFace

TIMING_STAGES = ("detect", "crop", "classify", "track", "mesh")


@dataclass(frozen=True)
class FaceResult:
    """
    One face in one frame.

    ``outputs``: model name -> its output smoothed over the track; ``raw_outputs``: the same
    from this frame alone. A model the node runs without (age) has no entry.
    """

    track_id: str
    box: tuple[int, int, int, int]  # x, y, w, h in source pixels, without the crop margin
    detection_confidence: float
    track_age: int  # consecutive frames this track has been matched
    outputs: Mapping[str, FaceOutput]
    raw_outputs: Mapping[str, FaceOutput]
    # The detection's facial keypoints (detection.KEYPOINT_NAMES, source pixels), or None
    # when the detector measured none (Haar, unless the BlazeFace pass in its box found them);
    # a keypoint the detector does not measure is NaN (YuNet's ears).
    keypoints: Keypoints | None = None
    # The face mesh (468 points, and the irises with face_mesh.irises), or None where it did not
    # run (face_mesh.enabled false, nothing reads it, a face under face_mesh.min_face_size, or
    # no face in the mesh's crop). Between mesh runs of a track it is the last mesh moved with the box.
    landmarks: FaceLandmarks | None = None
    # Inner lips' distance over the face's size, smoothed over the track (mouth.mouth_openness);
    # NaN without a mesh.
    mouth_open: float = math.nan
    # Who this is (identity.enabled): the track's person once the identity worker has matched it.
    person: PersonMatch | None = None
    # The head pose in the camera frame, smoothed over the track (head_pose.enabled, with the
    # camera's intrinsics); the track's last one where this frame's face gave none. None before any.
    head_pose: HeadPose | None = None
    # The eyes' gaze, smoothed over the track; None where this frame's irises gave none.
    gaze: Gaze | None = None

    # Read-only shortcuts for the answers most callers want.
    @property
    def gender(self) -> str:
        """Return "female", "male" or "unknown" (below classification.gender_min_confidence)."""
        return self.outputs["gender"].label

    @property
    def gender_probabilities(self) -> dict[str, float]:
        """Return label -> probability smoothed over the track, in the card's order."""
        return self.outputs["gender"].as_dict()

    @property
    def emotion(self) -> str:
        return self.outputs["emotion"].label

    @property
    def age(self) -> float:
        """Return the years of the age distribution smoothed over the track; NaN without an age model."""
        return self.outputs["age"].value if "age" in self.outputs else math.nan


@dataclass(frozen=True)
class FrameResult:
    faces: list[FaceResult]  # oldest track first
    # Milliseconds per stage: detect, crop, classify, track, and total.
    timings_ms: dict[str, float]
    frame_index: int
    full_detection: bool  # False when only regions around tracked faces were searched
    image_size: tuple[int, int] = field(default=(0, 0))  # width, height
    # Every live track, oldest first: the faces of this frame plus tracks missed in recent
    # frames that are not dropped yet (tracking.max_missed_frames).
    live_track_ids: tuple[str, ...] = ()
    # Identity (identity.enabled): live track id -> its person, for the tracks matched so far.
    live_persons: Mapping[str, PersonMatch] = field(default_factory=dict)
    # Head pose (with the camera's intrinsics): live track id -> its smoothed pose (also the
    # tracks missed in this frame: their last), and -> its last smoothed gaze, where it has one.
    live_head_poses: Mapping[str, HeadPose] = field(default_factory=dict)
    live_gazes: Mapping[str, Gaze] = field(default_factory=dict)


def gray_from_image(image: np.ndarray) -> np.ndarray:
    """Return HxW uint8 grey from a BGR, BGRA or grey uint8 image."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected an HxW grey or HxWx3 BGR image, got shape {image.shape}")


def build_batches(image: np.ndarray, gray: np.ndarray, detections: Sequence[Detection], margin: float,
                  specs: Sequence[InputSpec], box_prior: np.ndarray | None = None) -> dict[InputSpec, np.ndarray]:
    """
    Build one model batch per distinct input spec for ``detections``.

    One model batch per distinct input spec, for ``detections``, each cut by its spec's
    framing (``margin``: the box framing's, for specs whose card names none; ``box_prior``: the
    detector's keypoint layout, for detections without keypoints).

    Grey specs are cut from ``gray``; rgb specs from the colour frame ``image`` (BGR or
    BGRA), which is only cropped when some spec is rgb; a grey frame gives rgb models its
    grey replicated into R, G and B.
    """
    batches: dict[InputSpec, np.ndarray] = {}
    colour = image.ndim == 3 and image.shape[2] in (3, 4)
    for spec in specs:
        if spec not in batches:
            source = image if spec.color == "rgb" and colour else gray
            batches[spec] = build_batch(frame_faces(source, detections, spec, margin, box_prior), spec)
    return batches


def _predict(model: FaceModel, batch: np.ndarray, flip_tta: bool) -> np.ndarray:
    """Return probabilities per face; with ``flip_tta``, the mean of each face and its mirror (one model call)."""
    if not flip_tta or len(batch) == 0:
        return model.predict(batch)
    probabilities = model.predict(np.concatenate([batch, batch[:, :, ::-1, :]]))
    return 0.5 * (probabilities[: len(batch)] + probabilities[len(batch):])


class FacePerceptionPipeline:
    """Stateful (tracks) per-camera pipeline; not thread-safe, use one per image stream."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.detector = create_detector(config.detection)
        # Name (card task) -> model, every one run on every face alike.
        self.models: dict[str, FaceModel] = load_face_models(config.classification)
        self.tracker = FaceTracker(config.tracking)
        self._background = BackgroundDetector(config.detection) if config.detection.background else None
        self._keypoint_finder: RegionKeypointFinder | None = None
        # Set by outputs that need every face's keypoints (REP-155 landmarks): Haar faces then get
        # the BlazeFace pass in their box whatever the models' framing. A frame given a camera
        # (head pose) measures them anyway.
        self.measure_keypoints = False
        # Set by outputs that read the face mesh (landmarks, mouth_open); the head pose and gaze
        # (a frame given a camera) measure it anyway.
        self.measure_landmarks = False
        _check_face_mesh_files(config)
        self._meshes = MeshTracks(config.face_mesh, config.tracking.smoothing, _face_mesh_landmarker)
        # Per-track head pose and gaze smoothing (head_pose.enabled).
        self._poses = PoseSmoothing(config.head_pose) if config.head_pose.enabled else None
        self._frame_index = 0
        self._frames_since_full_detection = 0
        # Why identity is off although enabled (no model, unusable database); "" otherwise.
        self.identity_problem = ""
        self._identities = self._start_identity(config.identity) if config.identity.enabled else None

    def _start_identity(self, config: IdentityConfig) -> TrackIdentities | None:
        """Start the identity worker; on a missing model or unusable database, say why and run without."""
        try:
            return TrackIdentities(IdentityWorker(config, DlibFaceEmbedder()))
        except (EmbeddingUnavailable, PersonStoreError) as error:
            self.identity_problem = f"identity is off: {error}"
            return None

    @property
    def identity(self) -> IdentityWorker | None:
        """Return the identity worker (persons database services), or None when identity is off."""
        return self._identities.worker if self._identities is not None else None

    @property
    def pose_smoothing(self) -> PoseSmoothing | None:
        """Return the per-track head pose and gaze smoothing, or None with head_pose.enabled false."""
        return self._poses

    def reconfigure(self, config: PipelineConfig) -> None:
        """
        Apply new parameters, rebuilding only the parts they affect; tracks survive.

        Everything is built before anything is replaced, so a failing load leaves the
        pipeline running on the old configuration.
        """
        detector, background = self.detector, self._background
        _check_face_mesh_files(config)
        if config.detection != self.config.detection:
            detector = create_detector(config.detection)
            background = BackgroundDetector(config.detection) if config.detection.background else None
        models = load_face_models(config.classification, self.models, self.config.classification)
        if background is not self._background and self._background is not None:
            self._background.close()
        self._background = background
        self.detector, self.models = detector, models
        self.tracker.config = config.tracking
        self._meshes.config, self._meshes.smoothing = config.face_mesh, config.tracking.smoothing
        if not config.head_pose.enabled:
            self._poses = None
        elif self._poses is None:
            self._poses = PoseSmoothing(config.head_pose)
        else:
            self._poses.configure(config.head_pose)  # the tracks keep their smoothed poses
        if self._identities is not None:
            self._identities.worker.configure(config.identity)
        self.config = config

    def close(self) -> None:
        """Stop the background detection thread (if any); the pipeline is unusable afterwards."""
        if self._background is not None:
            self._background.close()
            self._background = None
        if self._identities is not None:
            self._identities.worker.close()
            self._identities = None

    # --- per frame --------------------------------------------------------------------------
    def process(self, image: np.ndarray, camera: CameraModel | None = None, time_s: float | None = None
                ) -> FrameResult:
        """
        Detect, classify and track the faces in one BGR (HxWx3) or grey (HxW) uint8 frame.

        Grey models see the grey frame; rgb models see the BGR frame in R, G, B order (a grey
        frame replicated into the three channels). With ``camera`` (the intrinsics of this
        frame's camera) and head_pose.enabled, each face also gets its head pose and gaze,
        smoothed over its track at ``time_s`` (the frame's time in seconds; default: now).
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        gray = gray_from_image(image)
        poses_on = camera is not None and self._poses is not None

        prepared = self.detector.prepare(image, gray)
        if self._background is not None:
            detections, full = self._detect_with_background(prepared)
        else:
            full = self._frames_since_full_detection % self.config.detection.redetect_interval == 0
            search_boxes = None if full else self.tracker.predicted_boxes()
            detections = self.detector.detect_prepared(prepared, search_boxes)
            self._frames_since_full_detection = 1 if full else self._frames_since_full_detection + 1
        detections = self._keep_largest(detections)
        models = list(self.models.values())
        specs = [model.input_spec for model in models]
        detections, measured = self._with_keypoints(image, detections, specs, poses_on)
        mark = _lap(timings, "detect", start)

        boxes = [d.box for d in detections]
        # Models share one batch unless their cards ask for different inputs.
        batches = build_batches(image, gray, detections, self.config.classification.crop_margin, specs,
                                BOX_KEYPOINT_PRIORS[self.config.detection.backend])
        mark = _lap(timings, "crop", mark)

        flip = self.config.classification.flip_tta
        vectors = {model.name: _predict(model, batches[spec], flip) for model, spec in zip(models, specs)}
        # Every output is smoothed over the track by name; it is read (e.g. the expected age) afterwards.
        # A face too small to read adds no probability mass (classification.min_face_size): its
        # track's answers fade to "unknown" instead of taking a guess made from a few pixels.
        readable = [d.w >= self.config.classification.min_face_size for d in detections]
        observations = [{name: values[i] if readable[i] else np.zeros_like(values[i])
                         for name, values in vectors.items()} for i in range(len(detections))]
        mark = _lap(timings, "classify", mark)

        identities = self._live_identities()
        if identities is not None:
            identities.apply_results(self.tracker)  # may let a new track continue an earlier one
        tracked = self.tracker.update(boxes, observations)
        live = tuple(track.track_id for track in sorted(self.tracker.tracks, key=lambda t: t.serial))
        mark = _lap(timings, "track", mark)

        meshes: dict[str, TrackMesh] = {}
        if (self.measure_landmarks or poses_on) and self.config.face_mesh.enabled:
            meshes = self._meshes.update(image, [(t.track_id, measured[i]) for i, t in enumerate(tracked)],
                                         self._frame_index, live)
        if identities is not None:
            prior = BOX_KEYPOINT_PRIORS[self.config.detection.backend]
            identities.after_tracking(self.tracker, image, [
                (t.track_id, _keypoints_or_prior(d, prior)) for t, d in zip(tracked, measured)])
        poses = SmoothedPoses()
        if poses_on:
            poses = self._poses.update(
                [(t.track_id, None if mesh is None else mesh.landmarks, measured[i].keypoints)
                 for i, t in enumerate(tracked) for mesh in [meshes.get(t.track_id)]],
                live, camera, time.time() if time_s is None else time_s)
        # Oldest track first: a stable order from frame to frame for consumers and displays.
        order = sorted(range(len(tracked)), key=lambda i: tracked[i].serial)
        faces = [self._face_result(detections[i], tracked[i], measured[i].keypoints, meshes.get(tracked[i].track_id),
                                   poses) for i in order]
        _lap(timings, "mesh", mark)
        timings["total"] = (time.perf_counter() - start) * 1000.0

        persons = {} if identities is None else {
            t: person for t in live for person in [identities.person_of(t)] if person is not None}
        result = FrameResult(faces, timings, self._frame_index, full, (gray.shape[1], gray.shape[0]), live, persons,
                             poses.head_poses, poses.last_gazes)
        self._frame_index += 1
        return result

    def _live_identities(self) -> TrackIdentities | None:
        """Return the track identities, or None (and the reason in identity_problem) once the worker has failed."""
        if self._identities is not None and self._identities.worker.problem:
            self.identity_problem = f"identity is off: {self._identities.worker.problem}"
            self._identities.worker.close()
            self._identities = None
        return self._identities

    def person_of_track(self, track_id: str) -> PersonMatch | None:
        """Return the person a live track was matched to, if identity is on and has matched it."""
        return self._identities.person_of(track_id) if self._identities is not None else None

    def wait_for_identity(self, timeout: float = 10.0) -> bool:
        """Blocks until the identity worker (if any) has matched every queued face; for tests and offline use."""
        return self._identities is None or self._identities.worker.wait_idle(timeout)

    def _detect_with_background(self, prepared: PreparedFrame) -> tuple[list[Detection], bool]:
        """
        Regions around tracked faces now, plus new faces from a finished full-frame detection.

        A full-frame detection starts (when none is running) every ``redetect_interval``
        frames, and on every frame while nothing is tracked. Returns the faces and whether a
        full-frame result was merged in.
        """
        assert self._background is not None
        finished = self._background.take_result()
        earlier_faces, error = finished if finished is not None else ([], "")
        if error:
            raise RuntimeError(f"background face detection failed: {error}")
        predicted = self.tracker.predicted_boxes()
        due = not predicted or self._frames_since_full_detection >= self.config.detection.redetect_interval
        if due and self._background.submit(prepared):
            self._frames_since_full_detection = 0
        self._frames_since_full_detection += 1
        detections = self.detector.detect_prepared(prepared, predicted) if predicted else []
        if finished is None:
            return detections, False
        return merge_new_faces(detections, predicted, earlier_faces), True

    def wait_for_background_detection(self, timeout: float = 5.0) -> bool:
        """Blocks until the background detection (if any) is idle; for tests and offline use."""
        return self._background is None or self._background.wait_idle(timeout)

    def _with_keypoints(self, image: np.ndarray, detections: list[Detection], specs: Sequence[InputSpec],
                        poses_on: bool = False) -> tuple[list[Detection], list[Detection]]:
        """
        Return the detections for the models and for the outputs, with measured keypoints.

        (for the models, for the outputs): detections with measured keypoints where a model
        is framed on them and the detector gives none (Haar with ``detection.haar_keypoints:
        blazeface``), and, with :attr:`measure_keypoints` or ``poses_on``, every face's for the outputs.
        """
        for_models = (any(isinstance(spec.framing, EyesMouthFraming) for spec in specs)
                      and self.config.detection.haar_keypoints == "blazeface")
        # Faces whose keypoints the detector measured coarsely (small in BlazeFace's whole-frame
        # input) get them measured again in their box.
        remeasure_below = self.detector.coarse_keypoints_below * max(image.shape[:2]) if for_models else 0.0
        coarse = any(d.keypoints is None or d.w < remeasure_below for d in detections)
        every_face = self.measure_keypoints or poses_on or self._identities is not None
        if not (for_models or every_face) or not coarse:
            return detections, detections
        if self._keypoint_finder is None:
            self._keypoint_finder = RegionKeypointFinder()
        measured = self._keypoint_finder.add_keypoints(image, detections, remeasure_below)
        return (measured if for_models else detections), measured

    def _keep_largest(self, detections: Sequence[Detection]) -> list[Detection]:
        if len(detections) <= self.config.max_faces:
            return list(detections)
        largest = sorted(detections, key=lambda d: d.w * d.h, reverse=True)[: self.config.max_faces]
        return sorted(largest, key=lambda d: d.confidence, reverse=True)

    def _face_result(self, detection: Detection, tracked: TrackedFace, keypoints: Keypoints | None,
                     mesh: TrackMesh | None, poses: SmoothedPoses) -> FaceResult:
        return FaceResult(
            track_id=tracked.track_id,
            box=detection.box,
            detection_confidence=detection.confidence,
            track_age=tracked.age,
            outputs={name: model.read(tracked.smoothed[name]) for name, model in self.models.items()},
            raw_outputs={name: model.read(tracked.raw[name]) for name, model in self.models.items()},
            keypoints=keypoints,
            landmarks=None if mesh is None else mesh.landmarks,
            mouth_open=math.nan if mesh is None else mesh.mouth_open,
            person=self._identities.person_of(tracked.track_id) if self._identities is not None else None,
            head_pose=poses.head_poses.get(tracked.track_id),
            gaze=poses.gazes.get(tracked.track_id),
        )


def _check_face_mesh_files(config: PipelineConfig) -> None:
    """Refuse a configuration whose face mesh models are not installed (at start-up, not on the first face)."""
    if config.face_mesh.enabled:
        from face_perception.detection.face_mesh import data_file, IRIS_FILE, MESH_FILE

        for name in (MESH_FILE, IRIS_FILE) if config.face_mesh.irises else (MESH_FILE,):
            data_file(name)


def _face_mesh_landmarker(irises: bool) -> FaceLandmarker:
    # Imported here: a pipeline that never reads a mesh never loads LiteRT's mesh models.
    from face_perception.detection.face_mesh import FaceMeshLandmarker

    return FaceMeshLandmarker(irises=irises)


def _keypoints_or_prior(detection: Detection, prior: np.ndarray) -> Keypoints:
    """Return the detection's keypoints, or the detector's mean layout placed in its box."""
    if detection.keypoints is not None:
        return detection.keypoints
    x, y, w, h = detection.box
    return tuple((x + float(px) * w, y + float(py) * h) for px, py in prior)


def _lap(timings: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    timings[stage] = (now - since) * 1000.0
    return now
