#!/usr/bin/env python3
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
Eye gaze error, measured on what we can make here (we have no gaze data set).

1. rendered: the astronaut head of face_perception.bringup.head_render with its eyes replaced
   by rendered eyeballs turned by known angles (head_with_eyes), at known head poses, 0.6 m,
   640x480, f = 600 px; the node's chain (BlazeFace, face mesh, iris model, mesh head pose,
   gaze). Errors: the angle between the estimated and the true gaze, raw and after removing
   the frontal render's offset (as scripts/measurements/measure_head_pose.py does for the head); how far
   the estimate turns when the eyes turn (ideal 1.0); and how often looking_at_camera
   (threshold 15 degrees) agrees with the truth.
2. the astronaut photo, who looks at the camera: the angle between her gaze and the line to
   the camera, for three assumed fields of view (the photo's camera is unknown).
3. a still rendered head with camera noise and 1 px shake, 30 Hz: gaze jitter raw and
   smoothed (the node's One-Euro defaults).

Each check runs twice, with the mesh head pose from the 3-D alignment of the mesh (the
node's, mesh_geometry.align_mesh_pose) and from SQPnP of its 2-D points (estimate_mesh_pose).

Usage: python scripts/measurements/measure_gaze.py [--quick]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from face_perception.bringup.head_render import gaze_direction_in_face, head_with_eyes, render_head  # noqa: E402
from face_perception.detection.blazeface import BlazeFaceDetector  # noqa: E402
from face_perception.detection.face_mesh import FaceMeshLandmarker  # noqa: E402
from face_perception.geometry import head_pose as hp  # noqa: E402
from face_perception.geometry.gaze import estimate_gaze, GazeTracker  # noqa: E402
from face_perception.geometry.mesh_geometry import align_mesh_pose, estimate_mesh_pose  # noqa: E402
from face_perception.ros.demo_frames import load_demo_image  # noqa: E402

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
CAMERA = hp.CameraModel.from_values(K.ravel(), [], "", 640, 480)
THRESHOLD_DEG = 15.0
DETECTOR = BlazeFaceDetector("full_range", 0.5, 2.0)
MESHER = FaceMeshLandmarker(irises=True)
POSE_METHODS = {"3-D alignment (the node's)": align_mesh_pose, "SQPnP of the 2-D points": estimate_mesh_pose}


def angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0))))


def summary(values) -> str:
    values = np.abs(np.asarray(values, np.float64))
    return f"median {np.median(values):5.1f}  p90 {np.percentile(values, 90):5.1f}  max {values.max():5.1f}"


def observe(image: np.ndarray, camera: hp.CameraModel, previous=None, estimate=align_mesh_pose):
    """(landmarks, pose, gaze) as the node measures them, or Nones."""
    faces = DETECTOR.detect(image)
    if not faces:
        return None, None, None
    landmarks = MESHER.measure(image, faces[0], previous)
    if landmarks is not None and previous is None:
        landmarks = MESHER.measure(image, faces[0], landmarks)  # the crop from the mesh, as a track's
    if landmarks is None:
        return None, None, None
    pose = estimate(landmarks.points, camera)
    return landmarks, pose, None if pose is None else estimate_gaze(landmarks, pose, camera)


def rendered(quick: bool, estimate=align_mesh_pose) -> None:
    heads = ((0, 0), (-20, 0), (20, 0), (0, -10), (0, 10)) if not quick else ((0, 0), (20, 0))
    eyes = [(y, p) for y in (-20, -10, 0, 10, 20) for p in (-10, 0, 10)]
    translation = np.array([0.0, 0.0, 0.6])
    print(f"1. rendered head with eyeballs turned by known angles, 0.6 m, {len(heads)} head poses x "
          f"{len(eyes)} eye directions")
    results = {}
    for head_yaw, head_pitch in heads:
        rotation = hp.face_rotation(head_yaw, head_pitch)
        for eye_yaw, eye_pitch in eyes:
            image = render_head(rotation, translation, K, head=head_with_eyes(eye_yaw, eye_pitch))
            _, pose, gaze = observe(image, CAMERA, estimate=estimate)
            truth = rotation @ gaze_direction_in_face(eye_yaw, eye_pitch)
            results[(head_yaw, head_pitch, eye_yaw, eye_pitch)] = (truth, pose, gaze)
    missing = sum(1 for _, _, gaze in results.values() if gaze is None)
    frontal_truth, frontal_pose, frontal_gaze = results[(0, 0, 0, 0)]
    # The frontal render's offset, in the face frame: a person's "straight ahead" eye position.
    offset = hp.face_rotation(0).T @ frontal_gaze.direction
    offset_yaw = np.degrees(np.arctan2(offset[1], offset[0]))
    offset_pitch = np.degrees(np.arcsin(np.clip(offset[2], -1, 1)))
    raw, corrected, agree, response_yaw, response_pitch = [], [], 0, [], []
    for (head_yaw, head_pitch, eye_yaw, eye_pitch), (truth, pose, gaze) in results.items():
        if gaze is None:
            continue
        raw.append(angle(gaze.direction, truth))
        in_face = pose.rotation.T @ gaze.direction
        est_yaw = np.degrees(np.arctan2(in_face[1], in_face[0]))
        est_pitch = np.degrees(np.arcsin(np.clip(in_face[2], -1, 1)))
        fixed = pose.rotation @ gaze_direction_in_face(est_yaw - offset_yaw, est_pitch - offset_pitch)
        corrected.append(angle(fixed, truth))
        response_yaw.append((eye_yaw, est_yaw))
        response_pitch.append((eye_pitch, est_pitch))
        true_looking = angle(truth, -translation) <= THRESHOLD_DEG
        agree += int(gaze.looking_at_camera(THRESHOLD_DEG) == true_looking)
    slope_yaw = np.polyfit(*np.array(response_yaw).T, 1)[0]
    slope_pitch = np.polyfit(*np.array(response_pitch).T, 1)[0]
    print(f"  no gaze {missing}/{len(results)}")
    print(f"  gaze error, raw                 {summary(raw)}")
    print(f"  gaze error, frontal offset removed {summary(corrected)} (offset: yaw {offset_yaw:+.1f}, "
          f"pitch {offset_pitch:+.1f})")
    print(f"  estimated eye turn per true eye turn (in the face frame): yaw {slope_yaw:.2f}, pitch {slope_pitch:.2f}")
    print(f"  looking_at_camera ({THRESHOLD_DEG:g} deg) agrees with the truth in {agree}/{len(raw)} renders")


def astronaut(estimate=align_mesh_pose) -> None:
    photo = load_demo_image()
    height, width = photo.shape[:2]
    print("2. the astronaut photo (she looks at the camera): angle between her gaze and the camera")
    for fov_deg in (40.0, 53.0, 70.0):
        focal = width / 2 / np.tan(np.radians(fov_deg) / 2)
        camera = hp.CameraModel.from_values([focal, 0, width / 2, 0, focal, height / 2, 0, 0, 1], [], "",
                                            width, height)
        _, pose, gaze = observe(photo, camera, estimate=estimate)
        print(f"  assumed horizontal field of view {fov_deg:4.0f} deg: {gaze.angle_to_camera_deg:5.1f} deg "
              f"(head pose yaw/pitch/roll {', '.join(f'{v:+.1f}' for v in hp.yaw_pitch_roll(pose.rotation))})")


def jitter(quick: bool, rng: np.random.Generator, estimate=align_mesh_pose) -> None:
    frames = 30 if quick else 60
    base = render_head(hp.face_rotation(15, 5), np.array([0.05, 0.0, 0.8]), K, head=head_with_eyes(-10.0, 0.0))
    tracker, poses = GazeTracker(hp.OneEuroParameters(1.0, 2.0, 1.0)), hp.HeadPoseTracker(
        hp.OneEuroParameters(1.0, 2.0, 1.0))
    raw, smooth, previous = [], [], None
    for frame in range(frames):
        shift = np.float32([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]])
        image = cv2.warpAffine(base, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE)
        image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
        landmarks, pose, gaze = observe(image, CAMERA, previous, estimate)
        previous = landmarks
        if gaze is None:
            continue
        smoothed_pose = poses.update("face_1", pose, frame / 30)
        smoothed = tracker.update_frame([("face_1", landmarks)], {"face_1": smoothed_pose}, ["face_1"], CAMERA,
                                        frame / 30)
        raw.append(gaze.direction)
        if "face_1" in smoothed:
            smooth.append(smoothed["face_1"].direction)
    skip = 10

    def spread(directions) -> float:
        directions = np.asarray(directions[skip:])
        mean = directions.mean(axis=0)
        return float(np.sqrt(np.mean([angle(d, mean) ** 2 for d in directions])))

    print(f"3. still head, camera noise and 1 px shake, {frames} frames at 30 Hz: gaze jitter (RMS angle from the "
          f"mean) raw {spread(raw):.2f} deg, smoothed {spread(smooth):.2f} deg")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer poses and frames")
    args = parser.parse_args()
    start = time.perf_counter()
    for label, estimate in POSE_METHODS.items():
        print(f"== head pose: {label}")
        rendered(args.quick, estimate)
        astronaut(estimate)
        jitter(args.quick, np.random.default_rng(0), estimate)
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
