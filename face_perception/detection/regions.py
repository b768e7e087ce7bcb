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
What every detector's region search shares: the square, the sizes kept, no duplicates.

Between full detections a detector searches only the square of ``detection.region_scale``
times a tracked face's side around it, and keeps only faces of about the tracked size there
(:class:`SizeWindow`: no jump to a neighbour's face or to noise at another scale), and keeps
one face per place where regions or tiles overlap (:func:`drop_duplicates`). Each backend's
window is its own (how much its box size wobbles); they are all here.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Callable, Sequence, TypeVar

from face_perception.detection.detection import box_iou

# Two detections of the same face from overlapping regions or tiles overlap at least this much.
DUPLICATE_IOU = 0.4

Found = TypeVar("Found")


@dataclass(frozen=True)
class SizeWindow:
    """Face sides kept in a region, as fractions of the tracked face's side."""

    smallest: float
    largest: float

    def keeps(self, tracked_side: float, found_side: float) -> bool:
        return self.smallest * tracked_side <= found_side <= self.largest * tracked_side


# The Haar cascade's box is steady from frame to frame; BlazeFace's and YuNet's follow the
# head's turn and so wobble more.
HAAR_WINDOW = SizeWindow(0.75, 1.35)
BLAZEFACE_WINDOW = SizeWindow(0.6, 1.6)
YUNET_WINDOW = SizeWindow(0.6, 1.6)


def region_square(box: Sequence[float], region_scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """
    Return the search square (x0, y0, x1, y1) around ``box``, clipped to the image.

    ``box``: x, y, w, h in the image's pixels; the square's side is ``region_scale`` times the
    box's larger side, centred on the box.
    """
    x, y, w, h = (float(v) for v in box)
    half = 0.5 * max(w, h) * region_scale
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(width, int(math.ceil(cx + half))), min(height, int(math.ceil(cy + half)))
    return x0, y0, x1, y1


def drop_duplicates(found: Sequence[tuple[Found, float]],
                    xywh: Callable[[Found], Sequence[float]] = lambda box: box) -> list[tuple[Found, float]]:
    """
    Keep the strongest of detections that overlap (the same face found from two regions).

    ``found``: (detection, score) pairs; ``xywh``: a detection's box as x, y, w, h.
    """
    kept: list[tuple[Found, float]] = []
    for item, score in sorted(found, key=lambda pair: pair[1], reverse=True):
        if all(box_iou(xywh(item), xywh(other)) < DUPLICATE_IOU for other, _ in kept):
            kept.append((item, score))
    return kept
