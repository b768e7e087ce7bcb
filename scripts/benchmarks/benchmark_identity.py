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
What identity costs: the frame's time with identity on/off (1 and 5 faces), and matching at scale.

Frames: real LFW photos pasted into 640x480 frames (1 or 5 faces), shown for ``--frames``
frames at ``--rate`` Hz (the frame thread sleeps out the rest of each period, as a camera
leaves it, so the identity worker gets the CPU a real node leaves it). Pipelines with identity
off and on (a fresh database, refresh every 3 s, new faces every ``--new-every`` frames so
the worker keeps embedding) run the same frames in alternating blocks of ``--block`` frames;
the frame thread's ``process`` time is compared (p50, p95, mean) and the descriptors the
worker made are counted.
Matching: PersonGallery.nearest over 10, 1,000 and 100,000 stored 128-D descriptors, and
the time to load 100,000 rows from SQLite at start-up.
Run: nice -n 15 .venv/bin/python scripts/benchmarks/benchmark_identity.py   (writes out/identity_benchmark.json)
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sqlite3
import sys
import tarfile
import tempfile
import time

import cv2
import numpy as np

# identity_lfw: the people split the identity measurements use.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "measurements"))

from face_perception.identity.person_matching import PersonGallery  # noqa: E402
from face_perception.identity.persons_db import PersonStore  # noqa: E402
from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.pipeline.pipeline import FacePerceptionPipeline  # noqa: E402
from identity_lfw import split_people, write_report  # noqa: E402
from training.data.loaders.lfw import read_photo  # noqa: E402
from training.paths import DEFAULT_LFW  # noqa: E402

POSITIONS = [(20, 40), (250, 40), (480, 40), (130, 280), (370, 280)]


def frames(photos: list[np.ndarray], faces: int, count: int, new_every: int) -> list[np.ndarray]:
    """``count`` frames of ``faces`` photos (150 px); the people change every ``new_every`` frames."""
    out = []
    for index in range(count):
        frame = np.full((480, 640, 3), 110, np.uint8)
        start = (index // new_every) * faces
        for slot in range(faces):
            photo = cv2.resize(photos[(start + slot) % len(photos)], (150, 150), interpolation=cv2.INTER_CUBIC)
            x, y = POSITIONS[slot]
            frame[y:y + 150, x:x + 150] = photo
        out.append(frame)
    return out


def frame_times(faces: int, photos: list[np.ndarray], args) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        pipelines = {
            "off": FacePerceptionPipeline(PipelineConfig.defaults()),
            "on": FacePerceptionPipeline(PipelineConfig.from_mapping(
                {"identity.enabled": True, "identity.database": f"{folder}/p.db"})),
        }
        times: dict[str, list[float]] = {name: [] for name in pipelines}
        period = 1.0 / args.rate
        shown = frames(photos, faces, args.frames, args.new_every)
        # Blocks of frames, off and on in turn: load drifts hit both alike, and an off block starts
        # with the identity worker idle (its CPU use counts against the on frames only).
        for start in range(0, len(shown), args.block):
            for name, pipeline in pipelines.items():
                if name == "off":
                    pipelines["on"].wait_for_identity(30.0)
                for frame in shown[start:start + args.block]:
                    begin = time.perf_counter()
                    pipeline.process(frame)
                    elapsed = time.perf_counter() - begin
                    times[name].append(elapsed * 1000.0)
                    time.sleep(max(0.0, period - elapsed))
        pipelines["on"].wait_for_identity(30.0)
        descriptors = sum(p.embeddings for p in pipelines["on"].identity.persons())
        made = pipelines["on"].identity.descriptors_made
        persons = len(pipelines["on"].identity.persons())
        for pipeline in pipelines.values():
            pipeline.close()
    for name, values in times.items():
        values = np.array(values[5:])  # the first frames load models
        results[name] = {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
                         "mean_ms": float(values.mean())}
    results["ratio_mean_on_off"] = results["on"]["mean_ms"] / results["off"]["mean_ms"]
    results["ratio_p95_on_off"] = results["on"]["p95_ms"] / results["off"]["p95_ms"]
    results["descriptors_stored"], results["persons_stored"] = descriptors, persons
    results["descriptors_made"] = made  # stored ones and the evidence weighed before a track has a person
    return results


def matching(sizes=(10, 1_000, 100_000), queries: int = 200) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for size in sizes:
        gallery = PersonGallery()
        matrix = rng.normal(size=(size, 128)).astype(np.float32)
        gallery.load([f"p{i}" for i in range(size)], matrix, {})
        probes = rng.normal(size=(queries, 128)).astype(np.float32)
        start = time.perf_counter()
        for probe in probes:
            gallery.nearest(probe)
        out[str(size)] = {"ms_per_match": 1000 * (time.perf_counter() - start) / queries,
                          "gallery_mb": matrix.nbytes / 1e6}
    with tempfile.TemporaryDirectory() as folder:
        store = PersonStore(f"{folder}/p.db", "m")
        rows = [(f"p{i}", None, 0.0, 0.0) for i in range(100_000)]
        vectors = rng.normal(size=(100_000, 128)).astype(np.float32)
        with sqlite3.connect(f"{folder}/p.db") as db:  # bulk fill; the node adds one row at a time
            db.executemany("INSERT INTO persons VALUES (?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO embeddings (person_id, model, vector, created) VALUES (?, 'm', ?, 0)",
                           [(f"p{i}", vectors[i].tobytes()) for i in range(100_000)])
        start = time.perf_counter()
        store.load_embeddings()
        out["load_100000_from_sqlite_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for k in range(50):
            store.add_embedding(f"p{k}", vectors[k], 1.0)
        out["add_embedding_ms"] = 1000 * (time.perf_counter() - start) / 50
        store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--new-every", type=int, default=30)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--out", default="out/identity_benchmark.json")
    args = parser.parse_args()
    with tarfile.open(DEFAULT_LFW) as tar:
        _, test = split_people(tar)
        photos = [read_photo(tar, paths[0]) for paths in list(test.values())[:60]]
    report = {"frame_time": {str(n): frame_times(n, photos, args) for n in (1, 5)}, "matching": matching()}
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
