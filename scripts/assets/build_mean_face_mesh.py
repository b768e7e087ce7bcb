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
Build the 3-D mean face of the face mesh (face_perception/data/mean_face_mesh.json) from LFW and FairFace.

The mesh model gives every face's 468 points in 3-D (x, y in pixels, z in the same scale).
For the first N LFW faces (archive order) where BlazeFace and the mesh find a face:

1. each face is centred on its eyes' midpoint and scaled to 63 mm between the eyes' centres;
2. generalised Procrustes analysis (rotation and scale) gives the mean shape;
3. that shape is turned back to the faces' own average orientation (the mean of the
   unrotated faces): "straight ahead" is then how news photos' faces, on average, face the
   camera, not one person's idea of it;
4. the eyeballs' centres (one point per eye, mirror-symmetric) are fitted so that, with each
   face's head pose from step 3's model, an eye looking at the camera puts its iris centre
   where the iris model saw it, on FairFace's adults (224 px photos: LFW's 112 px eyes are
   too blurred for the iris model), who look at the camera on average. Only the
   centre's height and width are fitted (LFW's faces are too frontal to tell its depth): its
   depth is anatomical, the iris plane 1.5 mm behind the lids' margins (the mean face's) and
   the iris centre 10 mm in front of the eye's centre of rotation.

A mean of 400 LFW and 355 FairFace faces together changed the head pose error on the renders
of scripts/measurements/measure_head_pose.py by 0.1 degree: the LFW mean is kept.

Usage: python scripts/assets/build_mean_face_mesh.py [--faces 400] [--lfw ...lfw_gender_112px.tar]
       [--fairface ...fairface_val_1k_224px.tar.gz]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import tarfile

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from face_perception.detection.blazeface import BlazeFaceDetector  # noqa: E402
from face_perception.detection.face_mesh import FaceMeshLandmarker  # noqa: E402
from face_perception.geometry import mesh_geometry as mg  # noqa: E402
from face_perception.geometry.head_pose import CameraModel, EYE_DISTANCE_M  # noqa: E402
from training.paths import DEFAULT_FAIRFACE, DEFAULT_LFW  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "face_perception" / "data" / mg.MEAN_FACE_FILE
# The iris centre's distance from the eye's centre of rotation: eyeball radius 12 mm less the
# anterior chamber's ~3 mm, plus ~1 mm by which the cornea's refraction brings the pupil forward.
EYEBALL_RADIUS_M = 0.010
# The iris plane lies this far behind the lid margins resting on the cornea.
IRIS_BEHIND_LIDS_M = 0.0015
# LFW's photographers' distance to the face, for the focal length of the eyeball fit.
ASSUMED_DISTANCE_M = 2.0
# Mesh points on the middle of the left eye's upper and lower lid margins.
LEFT_LID_MIDDLES = (386, 374)
# LFW crops are small: they are padded and enlarged so the face is about 200 px wide.
UPSCALE = 3


def archive_faces(archive: Path, count: int, skip: set[str] = frozenset()):
    """Yield (name, BGR image) of the archive's first images, in archive order (a gzip stream reads forward)."""
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.name.endswith(".jpg") or member.name in skip:
                continue
            data = np.frombuffer(tar.extractfile(member).read(), np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if image is not None:
                yield member.name, image
                count -= 1
                if count <= 0:
                    return


def face_frame_points(points: np.ndarray) -> np.ndarray:
    """Mesh points (pixels, camera-like axes) -> face-frame axes, centred on the eyes, metres."""
    eyes = mg.eye_centres(points)
    scale = EYE_DISTANCE_M / float(np.linalg.norm(eyes[1] - eyes[0]))
    centred = (points - 0.5 * (eyes[0] + eyes[1])) * scale
    # image x right -> the person's left (+y); image y down -> -z; model z (away from camera) -> -x.
    return np.column_stack([-centred[:, 2], centred[:, 0], -centred[:, 1]])


def kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotation and scale taking centred ``source`` onto centred ``target`` (least squares)."""
    u, s, vt = np.linalg.svd(source.T @ target)
    d = np.sign(np.linalg.det(u @ vt))
    correction = np.diag([1.0, 1.0, d])
    rotation = (u @ correction @ vt).T
    scale = float(np.sum(s * np.diag(correction)) / np.sum(source ** 2))
    return rotation, scale


def procrustes_mean(shapes: list[np.ndarray], iterations: int = 10) -> np.ndarray:
    mean = np.mean(shapes, axis=0)
    for _ in range(iterations):
        aligned = []
        for shape in shapes:
            rotation, scale = kabsch(shape - shape.mean(axis=0), mean - mean.mean(axis=0))
            aligned.append(scale * (shape - shape.mean(axis=0)) @ rotation.T + mean.mean(axis=0))
        mean = np.mean(aligned, axis=0)
    return mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=400)
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--fairface", type=Path, default=DEFAULT_FAIRFACE)
    args = parser.parse_args()
    detector = BlazeFaceDetector("short_range", 0.5, 2.0)
    mesher = FaceMeshLandmarker(irises=True)
    shapes = []
    for name, image in archive_faces(args.lfw, args.faces):
        image = cv2.resize(image, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(image)
        if not faces:
            continue
        landmarks = mesher.measure(image, faces[0])
        landmarks = mesher.measure(image, faces[0], landmarks) if landmarks is not None else None
        if landmarks is None or landmarks.right_eye is None or landmarks.left_eye is None:
            continue
        shapes.append(face_frame_points(landmarks.points))
    sharp = list(sharp_faces(args.fairface, detector, mesher, args.faces))
    print(f"{len(shapes)} faces with a mesh and irises")
    unrotated = np.mean(shapes, axis=0)
    mean = procrustes_mean(shapes)
    rotation, scale = kabsch(mean - mean.mean(axis=0), unrotated - unrotated.mean(axis=0))
    mean = scale * (mean - mean.mean(axis=0)) @ rotation.T + unrotated.mean(axis=0)
    # Re-centre on the eyes and rescale to 63 mm exactly.
    eyes = mg.eye_centres(mean)
    mean = (mean - 0.5 * (eyes[0] + eyes[1])) * EYE_DISTANCE_M / float(np.linalg.norm(eyes[1] - eyes[0]))
    face = mg.MeanFaceMesh(mean, np.zeros(3), EYEBALL_RADIUS_M)
    depth = float(np.mean(mean[list(LEFT_LID_MIDDLES), 0])) - IRIS_BEHIND_LIDS_M - EYEBALL_RADIUS_M
    eyeball = fit_eyeball(face, sharp, depth)
    print(f"eyeball centre (person's left eye, face frame, mm): {np.round(1000 * eyeball, 1)}")
    OUTPUT.write_text(json.dumps({
        "how": (f"scripts/assets/build_mean_face_mesh.py: {len(shapes)} LFW faces (lfw_gender_112px.tar, "
                "archive order), "
                "face mesh points centred on the eyes, scaled to 63 mm between the eyes' centres, "
                "Procrustes mean turned to the faces' average orientation; eyeball centre fitted to the "
                f"irises of {len(sharp)} FairFace adults (fairface_val_1k_224px) looking at the camera on "
                "average. Face frame (REP-155): x out of the face, "
                "y to the person's left, z up; metres."),
        "faces": len(shapes),
        "points": [[round(float(v), 5) for v in point] for point in mean],
        "left_eyeball_centre": [round(float(v), 5) for v in eyeball],
        "eyeball_radius": EYEBALL_RADIUS_M,
    }, indent=None) + "\n")
    print(f"wrote {OUTPUT}")
    return 0


def sharp_faces(archive: Path, detector, mesher, count: int):
    """(image shape, landmarks) of FairFace's adults (224 px, eyes sharp enough for the iris model)."""
    with tarfile.open(archive) as tar:
        labels = tar.extractfile(next(m for m in tar if m.name.endswith("labels.csv"))).read().decode()
    children = {"fairface_val/" + line.split(",")[0].rpartition("/")[2] for line in labels.splitlines()[1:]
                if line.split(",")[1] in ("0-2", "3-9")}
    for _, image in archive_faces(archive, count, children):
        faces = detector.detect(image)
        if not faces:
            continue
        landmarks = mesher.measure(image, faces[0])
        landmarks = mesher.measure(image, faces[0], landmarks) if landmarks is not None else None
        if landmarks is not None and landmarks.right_eye is not None and landmarks.left_eye is not None:
            yield image.shape, landmarks


def fit_eyeball(face: "mg.MeanFaceMesh", observations, depth: float) -> np.ndarray:
    """Least-squares eyeball centre (left eye; the right one mirrored) from faces looking at the camera."""
    samples = []
    for shape, landmarks in observations:
        height, width = shape[:2]
        # LFW's cameras are unknown: news photographers at about 2 m, whose focal length
        # (pixels) then follows from the eyes' distance in the image.
        focal = landmarks.eye_distance() * ASSUMED_DISTANCE_M / EYE_DISTANCE_M
        camera = CameraModel.from_values([focal, 0, width / 2, 0, focal, height / 2, 0, 0, 1], [], "", width, height)
        pose = mg.estimate_mesh_pose(landmarks.points, camera, face)
        if pose is not None:
            samples.append((camera, pose, landmarks))

    def residuals(centre_yz: np.ndarray) -> np.ndarray:
        centre = np.array([depth, *centre_yz])
        errors = []
        for camera, pose, landmarks in samples:
            for eye, sign in ((landmarks.left_eye, 1.0), (landmarks.right_eye, -1.0)):
                local = centre * np.array([1.0, sign, 1.0])
                centre_cam = pose.rotation @ local + pose.translation
                toward_camera = -centre_cam / np.linalg.norm(centre_cam)
                iris = centre_cam + face.eyeball_radius * toward_camera
                projected = camera.k @ iris
                scale = landmarks.eye_distance()
                errors.extend((projected[:2] / projected[2] - eye.iris_centre) / scale)
        return np.asarray(errors)

    # Gauss-Newton from the eye's centre.
    centre = np.array([EYE_DISTANCE_M / 2, 0.0])
    for _ in range(20):
        base = residuals(centre)
        jacobian = np.column_stack([(residuals(centre + step) - base) / 1e-5 for step in np.eye(2) * 1e-5])
        update = np.linalg.lstsq(jacobian, -base, rcond=None)[0]
        centre = centre + update
        if np.linalg.norm(update) < 1e-7:
            break
    print(f"eyeball fit on {len(samples)} faces: RMS residual {np.sqrt(np.mean(residuals(centre) ** 2)):.3f} "
          "eye distances")
    return np.array([depth, *centre])


if __name__ == "__main__":
    sys.exit(main())
