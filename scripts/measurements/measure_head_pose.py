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
Head pose error, measured on what we can make here (we have no head-pose data set).

1. synthetic: MEAN_FACE's own keypoints projected at known poses (yaw -60..60, pitch
   -30..30, roll -20..20, 0.5-2.5 m), with Gaussian keypoint noise (as a fraction of the
   eye distance) and, per trial, a different face (every model coordinate moved by a
   random 4 mm, the whole face scaled by a random 6%): the solver and the mean-face model
   against faces that are not the mean face.
2. rendered: the astronaut photo wrapped onto a 3-D head of our own shape
   (face_perception.bringup.head_render), rendered at known yaw/pitch/roll, 0.8 m, 640x480 with
   f = 600 px; BlazeFace (the node's detector) finds the keypoints on each render. Errors
   are given raw and after removing the frontal render's bias (a person's "straight ahead"
   is defined by their own face, which the mean face does not know). Three methods on the
   same renders: the six BlazeFace keypoints, the same without the ears, and the face mesh
   (its inner points against the mesh's LFW mean face) two ways: SQPnP of its 2-D points
   (mesh_geometry.estimate_mesh_pose) and the 3-D alignment of its 3-D points
   (mesh_geometry.align_mesh_pose, the node's), each with its median time per face; and the
   3-D alignment averaged with that of the mesh of the mirrored crop (a second mesh run,
   mesh_geometry.mirror_averaged_pose; its time leaves out the second run's 1.7 ms).
3. smoothing: a still rendered head with camera noise, and a head turning at 60 deg/s,
   raw vs One-Euro-smoothed (the node's defaults), 30 Hz.

Usage: python scripts/measurements/measure_head_pose.py [--quick]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from face_perception.geometry import head_pose as hp  # noqa: E402

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
CAMERA = hp.CameraModel.from_values(K.ravel(), [], "", 640, 480)


def summary(values) -> str:
    values = np.abs(np.asarray(values, np.float64))
    return f"median {np.median(values):5.1f}  p90 {np.percentile(values, 90):5.1f}  max {values.max():5.1f}"


def synthetic(trials: int, rng: np.random.Generator) -> None:
    print("1. synthetic keypoints (rotation error deg | |yaw error| deg | distance error %)")
    for noise in (0.0, 0.02, 0.05):
        for use, label in ((range(6), "6 points"), (range(4), "4 points (no ears)")):
            rotation_errors, yaw_errors, distance_errors, failed = [], [], [], 0
            for _ in range(trials):
                yaw, pitch, roll = rng.uniform(-60, 60), rng.uniform(-30, 30), rng.uniform(-20, 20)
                rotation = hp.face_rotation(yaw, pitch, roll)
                distance = rng.uniform(0.5, 2.5)
                translation = np.array([rng.uniform(-0.3, 0.3) * distance, rng.uniform(-0.2, 0.2) * distance,
                                        distance])
                face = (hp.MEAN_FACE + rng.normal(0, 0.004, hp.MEAN_FACE.shape)) * rng.normal(1.0, 0.06)
                keypoints = hp.project(face, rotation, translation, K)
                eye_distance = np.hypot(*(keypoints[1] - keypoints[0]))
                keypoints = keypoints + rng.normal(0, noise * max(eye_distance, 1.0), keypoints.shape)
                pose = hp.estimate_head_pose(keypoints, CAMERA, use=use)
                if pose is None:
                    failed += 1
                    continue
                rotation_errors.append(hp.rotation_angle_deg(rotation, pose.rotation))
                yaw_errors.append(hp.yaw_pitch_roll(pose.rotation)[0] - yaw)
                distance_errors.append(100 * (np.linalg.norm(pose.translation) / np.linalg.norm(translation) - 1))
            print(f"  noise {noise:4.0%} {label:19s} rotation {summary(rotation_errors)} | yaw "
                  f"{summary(yaw_errors)} | distance {summary(distance_errors)} | no pose {failed}/{trials}")


def rendered(quick: bool) -> None:
    from face_perception.bringup.head_render import render_head
    from face_perception.detection.blazeface import BlazeFaceDetector
    from face_perception.detection.face_mesh import FaceMeshLandmarker
    from face_perception.geometry.mesh_geometry import align_mesh_pose, estimate_mesh_pose, mirror_averaged_pose

    detector = BlazeFaceDetector("full_range", 0.5, 2.0)
    mesher = FaceMeshLandmarker(irises=False)
    yaws = (-40, -20, 0, 20, 40) if quick else (-50, -40, -30, -20, -10, 0, 10, 20, 30, 40, 50)
    pitches = (-15, 0, 15) if quick else (-20, -10, 0, 10, 20)
    rolls = (0, 15)
    translation = np.array([0.0, 0.0, 0.8])
    print("2. rendered head, BlazeFace keypoints (deg; distance error %), 0.8 m, "
          f"{len(yaws)}x{len(pitches)}x{len(rolls)} poses")
    observed = {}
    for yaw in yaws:
        for pitch in pitches:
            for roll in rolls:
                image = render_head(hp.face_rotation(yaw, pitch, roll), translation, K)
                faces = detector.detect(image)
                mesh = mesher.measure(image, faces[0]) if faces else None
                first = mesh
                mesh = mesher.measure(image, faces[0], first) if first is not None else None  # crop from the mesh
                mirrored = mesher.measure_mirrored(image, faces[0], first) if mesh is not None else None
                observed[(yaw, pitch, roll)] = (faces[0] if faces else None, mesh, mirrored)

    def keypoint_pose(use):
        return lambda face, mesh, mirrored: (hp.estimate_head_pose(np.asarray(face.keypoints), CAMERA, use=use)
                                             if face else None)

    def mesh_pose(estimate):
        return lambda face, mesh, mirrored: estimate(mesh.points, CAMERA) if mesh is not None else None

    def mirror_averaged(face, mesh, mirrored):
        return mirror_averaged_pose(mesh.points, mirrored, CAMERA) if mesh is not None else None

    for method, label in ((keypoint_pose(range(6)), "6 points"), (keypoint_pose(range(4)), "4 points (no ears)"),
                          (mesh_pose(estimate_mesh_pose), "face mesh, SQPnP of the 2-D points"),
                          (mesh_pose(align_mesh_pose), "face mesh, 3-D alignment (the node's)"),
                          (mirror_averaged, "face mesh, 3-D alignment averaged with the mirrored crop's "
                                            "(+1 mesh run)")):
        estimates = {}
        missed = 0
        seconds = []
        for yaw in yaws:
            for pitch in pitches:
                for roll in rolls:
                    truth = hp.face_rotation(yaw, pitch, roll)
                    start = time.perf_counter()
                    pose = method(*observed[(yaw, pitch, roll)])
                    seconds.append(time.perf_counter() - start)
                    if pose is None:
                        missed += 1
                    else:
                        estimates[(yaw, pitch, roll)] = (truth, pose)
        frontal = estimates.get((0, 0, 0))
        bias = None if frontal is None else frontal[0].T @ frontal[1].rotation  # face-frame offset
        raw, unbiased, yaw_errors, pitch_errors, distance_errors = [], [], [], [], []
        per_yaw: dict[int, list[float]] = {}
        per_pitch: dict[int, list[float]] = {}
        for (yaw, pitch, roll), (truth, pose) in estimates.items():
            raw.append(hp.rotation_angle_deg(truth, pose.rotation))
            corrected = pose.rotation @ bias.T if bias is not None else pose.rotation
            unbiased.append(hp.rotation_angle_deg(truth, corrected))
            est_yaw, est_pitch, _ = hp.yaw_pitch_roll(corrected)
            yaw_errors.append(est_yaw - yaw)
            pitch_errors.append(est_pitch - pitch)
            per_yaw.setdefault(yaw, []).append(est_yaw - yaw)
            per_pitch.setdefault(pitch, []).append(est_pitch - pitch)
            distance_errors.append(100 * (np.linalg.norm(pose.translation) / np.linalg.norm(translation) - 1))
        print(f"  {label}: no face or no pose {missed}; {1000 * np.median(seconds):.2f} ms per face (median)")
        print(f"    rotation, raw         {summary(raw)}")
        if bias is not None:
            print(f"    rotation, bias removed {summary(unbiased)} (frontal bias "
                  f"{hp.rotation_angle_deg(np.eye(3), bias):.1f})")
        within = [error for (yaw, _, _), error in zip(estimates, unbiased) if abs(yaw) <= 30]
        if within:
            print(f"    rotation, bias removed, |yaw| <= 30: {summary(within)}")
        print(f"    yaw error             {summary(yaw_errors)}; pitch error {summary(pitch_errors)}")
        print(f"    distance error        {summary(distance_errors)} (signed mean {np.mean(distance_errors):+.1f}%)")
        print("    mean signed yaw error by true yaw: " + ", ".join(
            f"{yaw:+d}: {np.mean(errors):+.1f}" for yaw, errors in sorted(per_yaw.items())))
        print("    mean signed pitch error by true pitch: " + ", ".join(
            f"{pitch:+d}: {np.mean(errors):+.1f}" for pitch, errors in sorted(per_pitch.items())))


def render_geometry() -> None:
    """Print the rendered head's depth profile against the mean face's, where the mesh finds the photo's features."""
    from face_perception.bringup.head_render import astronaut_head, surface_depth
    from face_perception.detection.blazeface import BlazeFaceDetector
    from face_perception.detection.face_mesh import FaceMeshLandmarker
    from face_perception.geometry.mesh_geometry import mean_face
    from face_perception.ros.demo_frames import load_demo_image

    photo = load_demo_image()
    face = BlazeFaceDetector("short_range", 0.5, 2.0).detect(photo)[0]
    mesher = FaceMeshLandmarker(irises=False)
    mesh = mesher.measure(photo, face, mesher.measure(photo, face))
    # The photo's pixels -> the head surface, as astronaut_head() wraps them.
    right_eye, left_eye = (np.asarray(p, np.float64) for p in face.keypoints[:2])
    metres_per_pixel = hp.EYE_DISTANCE_M / float(np.hypot(*(left_eye - right_eye)))
    y = (mesh.points[:, 0] - 0.5 * (right_eye[0] + left_eye[0])) * metres_per_pixel
    z = -(mesh.points[:, 1] - 0.5 * (right_eye[1] + left_eye[1])) * metres_per_pixel
    render = surface_depth(y, z) - astronaut_head().eye_midpoint[0]
    mean = mean_face().points[:, 0]
    corners = [33, 133, 263, 362]
    print("   the rendered head's depth (mm, forward of the eye corners) where the mesh finds the photo's "
          "features, and the mean face's: " + ", ".join(
              f"{name} {1000 * (render[i] - render[corners].mean()):+.0f} / "
              f"{1000 * (mean[i] - mean[corners].mean()):+.0f}"
              for name, i in (("forehead (10)", 10), ("nose tip (1)", 1), ("mouth (13)", 13), ("chin (152)", 152))))


def smoothing(quick: bool, rng: np.random.Generator, mesh_method: str | None) -> None:
    """Jitter and lag of the smoothed pose: six keypoints (``mesh_method`` None), or a mesh pose ("pnp", "align")."""
    import cv2

    from face_perception.bringup.head_render import render_head
    from face_perception.detection.blazeface import BlazeFaceDetector
    from face_perception.detection.face_mesh import FaceMeshLandmarker
    from face_perception.geometry.mesh_geometry import align_mesh_pose, estimate_mesh_pose

    detector = BlazeFaceDetector("full_range", 0.5, 2.0)
    mesher = FaceMeshLandmarker(irises=False)
    previous = {}

    def measure(image):
        faces = detector.detect(image)
        if not faces:
            return None
        if mesh_method is None:
            return hp.estimate_head_pose(np.asarray(faces[0].keypoints), CAMERA)
        # As the node: the crop from the track's last mesh.
        mesh = mesher.measure(image, faces[0], previous.get("mesh"))
        previous["mesh"] = mesh
        estimate = align_mesh_pose if mesh_method == "align" else estimate_mesh_pose
        return estimate(mesh.points, CAMERA) if mesh is not None else None
    parameters = hp.OneEuroParameters(min_cutoff=1.0, beta=2.0, d_cutoff=1.0)  # the node's defaults
    frames = 30 if quick else 60
    translation = np.array([0.05, 0.0, 1.0])
    label = {None: "6 points", "pnp": "face mesh, SQPnP", "align": "face mesh, 3-D alignment"}[mesh_method]
    print(f"3. smoothing, {label} (One-Euro min_cutoff {parameters.min_cutoff}, "
          f"beta {parameters.beta}), 30 Hz, {frames} frames")
    # Still head, sensor noise (sigma 4 grey levels) and a 1 px random camera shake.
    still = hp.face_rotation(15, 5, 0)
    base = render_head(still, translation, K)
    tracker = hp.HeadPoseTracker(parameters)
    raw_yaw, smooth_yaw, raw_z, smooth_z = [], [], [], []
    for frame in range(frames):
        shift = np.float32([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]])
        image = cv2.warpAffine(base, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE)
        image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
        pose = measure(image)
        if pose is None:
            continue
        smoothed = tracker.update("face_1", pose, frame / 30)
        raw_yaw.append(hp.yaw_pitch_roll(pose.rotation)[0])
        smooth_yaw.append(hp.yaw_pitch_roll(smoothed.rotation)[0])
        raw_z.append(pose.translation[2])
        smooth_z.append(smoothed.translation[2])
    skip = 10  # the filter's start
    print(f"  still head: yaw jitter (std) raw {np.std(raw_yaw[skip:]):.2f} deg, smoothed "
          f"{np.std(smooth_yaw[skip:]):.2f} deg; distance jitter raw {1000 * np.std(raw_z[skip:]):.1f} mm, "
          f"smoothed {1000 * np.std(smooth_z[skip:]):.1f} mm")
    # Turning at 60 deg/s from -30 deg.
    tracker = hp.HeadPoseTracker(parameters)
    previous.clear()
    lags, raw_errors = [], []
    for frame in range(frames):
        yaw = -30 + 60 * frame / 30
        if yaw > 40:
            break
        pose = measure(render_head(hp.face_rotation(yaw), translation, K))
        if pose is None:
            continue
        smoothed = tracker.update("face_1", pose, frame / 30)
        raw_estimate = hp.yaw_pitch_roll(pose.rotation)[0]
        if frame >= 5:
            lags.append(raw_estimate - hp.yaw_pitch_roll(smoothed.rotation)[0])
            raw_errors.append(raw_estimate - yaw)
    print(f"  turning 60 deg/s: smoothed yaw behind the raw estimate by median {np.median(lags):.1f} deg "
          f"(= {1000 * np.median(lags) / 60:.0f} ms of turning); raw yaw error median {np.median(raw_errors):+.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer poses and frames")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    synthetic(300 if args.quick else 2000, rng)
    rendered(args.quick)
    render_geometry()
    smoothing(args.quick, rng, None)
    smoothing(args.quick, rng, "pnp")
    smoothing(args.quick, rng, "align")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
