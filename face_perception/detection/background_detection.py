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
Full-frame face detection on a thread of its own, so that no frame waits for it.

With ``detection.background`` the pipeline searches only the regions around tracked faces in
the frame it is processing (a few milliseconds) and hands a frame to this detector every
``redetect_interval`` frames; the faces it finds join the frame being processed when it
finishes. OpenCV's cascade and LiteRT release the GIL, so on a multi-core CPU the expensive full-frame
search runs beside the per-frame work instead of inside it.
"""
from __future__ import annotations

import threading
from typing import Sequence

from face_perception.detection.detection import box_iou, Detection, PreparedFrame
from face_perception.detection.detectors import create_detector
from face_perception.parameters import DetectionConfig

# A full-frame face from an older frame is new only if it overlaps no face of the current
# frame (found or predicted) by more than this: the face may have moved since.
_STALE_MATCH_IOU = 0.2


class BackgroundDetector:
    """One full-frame detection at a time on a worker thread; results are picked up later."""

    def __init__(self, config: DetectionConfig) -> None:
        # A detector of its own: neither a cascade (per-image state) nor a LiteRT
        # interpreter is safe to share with the thread that searches regions.
        self._detector = create_detector(config)
        self._condition = threading.Condition()
        self._request: PreparedFrame | None = None
        self._result: tuple[list[Detection], str] | None = None
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="face_perception_detector", daemon=True)
        self._thread.start()

    def submit(self, frame: PreparedFrame) -> bool:
        """Start a full-frame detection of ``frame`` unless one is running; True if started."""
        with self._condition:
            if self._busy or self._closed:
                return False
            # A private copy: the caller's buffers may be reused for the next frame.
            self._request = PreparedFrame(frame.image.copy(), frame.scale, frame.source_width, frame.source_height)
            self._busy = True
            self._condition.notify_all()
            return True

    def take_result(self) -> tuple[list[Detection], str] | None:
        """Return the finished detection not yet taken, if any: its faces and its error ("" if none)."""
        with self._condition:
            result, self._result = self._result, None
            return result

    def wait_idle(self, timeout: float) -> bool:
        """Blocks until no detection is running (tests, shutdown); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._busy, timeout)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._request is not None or self._closed)
                if self._closed:
                    return
                frame, self._request = self._request, None
            try:
                detections = self._detector.detect_prepared(frame)
                error = ""
            except Exception as failure:  # reported by the pipeline; the thread must survive
                detections, error = [], f"{type(failure).__name__}: {failure}"
            with self._condition:
                self._result = (detections, error)
                self._busy = False
                self._condition.notify_all()


def merge_new_faces(current: Sequence[Detection], predicted_boxes: Sequence[Sequence[float]],
                    earlier_full_frame: Sequence[Detection]) -> list[Detection]:
    """
    Return ``current`` plus earlier full-frame faces that match no current or tracked face.

    Return ``current`` plus the faces of an earlier full-frame detection that match none of the
    current frame's faces or tracked (predicted) boxes: faces the region search cannot know.
    """
    known = [d.box for d in current] + [tuple(b) for b in predicted_boxes]
    added = [d for d in earlier_full_frame if all(box_iou(d.box, box) <= _STALE_MATCH_IOU for box in known)]
    return sorted([*current, *added], key=lambda d: d.confidence, reverse=True)
