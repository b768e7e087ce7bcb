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
Health of the image stream for /diagnostics, without ROS.

Health of the image stream for /diagnostics, without ROS: counters, a recent window,
staleness, frames lost on the way (counted against the camera's camera_info, else
estimated from stamps) and per-cause log throttling.

The node feeds :class:`StreamHealth` with what happens to each frame and asks it for a
level, a one-line summary and the values to publish. Time is passed in (monotonic seconds)
so tests can drive every state without waiting.
"""
from __future__ import annotations

from collections import deque, OrderedDict
from dataclasses import dataclass
import re
import statistics
import threading

from face_perception.ros.camera_info import CameraInfoMonitor

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR"}

# The level reflects this many seconds of recent frames; the totals are kept as values.
RECENT_WINDOW_S = 5.0
# A longer stamp gap is a paused camera, not lost frames.
MAX_GAP_S = 10.0
# Stamp deltas kept to estimate the camera's period (median, robust to single gaps).
PERIOD_SAMPLES = 30
MIN_PERIOD_SAMPLES = 5  # before these, nothing is counted
MIN_PERIOD_NS = 2_000_000  # cameras up to 500 Hz
# More than this fraction of the camera's frames missing over the recent window is a WARN.
LOSS_WARN_FRACTION = 0.10
# camera_info messages in the window before images are counted against them.
MIN_CAMERA_INFO_FOR_LOSS = 10
LOSS_CAUSE = "likely the sender's DDS transport (the camera driver's): see docs/deployment.md, 'DDS: large images'"


@dataclass(frozen=True)
class HealthReport:
    level: int
    message: str
    values: dict[str, float | int | str]


@dataclass(frozen=True)
class FrameLoss:
    """Images and camera_info messages that arrived over the same recent window."""

    images: int
    camera_infos: int
    seconds: float

    @property
    def fraction(self) -> float:
        """Share of the camera's frames that never arrived (0 when images keep up)."""
        if self.camera_infos == 0:
            return 0.0
        return max(0, self.camera_infos - self.images) / self.camera_infos


class MissedFrameEstimator:
    """
    Estimates frames lost before they reached the node from gaps in header stamps.

    An estimate: it assumes a steady camera rate, the median of the recent stamp deltas
    of at least ``MIN_PERIOD_NS`` (shorter ones are a publisher catching up after a stall,
    not the camera's rate). Each delta adds ``round(delta / period) - 1`` frames, at least
    -1: a gap of three periods adds two, and a stall followed by a catch-up burst adds
    nothing in total. Gaps over ``MAX_GAP_S`` are a paused camera (reported as stale), not
    lost frames. A camera that changes its rate makes it count wrongly for a few frames.
    Frames with a zero stamp are ignored; a stamp not after the previous one starts afresh.
    """

    def __init__(self) -> None:
        self._last_stamp_ns: int | None = None
        self._deltas: deque[int] = deque(maxlen=PERIOD_SAMPLES)
        self._balance = 0

    @property
    def missed(self) -> int:
        return max(0, self._balance)

    def add(self, stamp_ns: int) -> None:
        """Record one received frame's stamp."""
        if stamp_ns <= 0:
            return
        previous, self._last_stamp_ns = self._last_stamp_ns, stamp_ns
        if previous is None or stamp_ns <= previous:
            return
        delta = stamp_ns - previous
        if delta > MAX_GAP_S * 1e9:
            return
        if len(self._deltas) >= MIN_PERIOD_SAMPLES:
            self._balance += max(-1, round(delta / statistics.median(self._deltas)) - 1)
        if delta >= MIN_PERIOD_NS:
            self._deltas.append(delta)


class StreamHealth:
    """Counters, recent window and staleness of one image stream (thread-safe)."""

    def __init__(self, stale_after_s: float, latency_samples: int = 200,
                 camera_info: CameraInfoMonitor | None = None) -> None:
        self._lock = threading.Lock()
        self.stale_after_s = stale_after_s
        # The camera's camera_info: frames lost on the way are counted against it.
        self._camera_info = camera_info
        self._received_at: deque[float] = deque()
        self._first_received_at: float | None = None
        self._latencies_ms: deque[float] = deque(maxlen=latency_samples)
        self._processed_at: deque[float] = deque(maxlen=latency_samples)
        self._bad_at: deque[float] = deque()
        self._missed = MissedFrameEstimator()
        self._last_received_at: float | None = None
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.bad_frames = 0
        self.last_faces = 0
        self.last_error = ""

    # --- events ------------------------------------------------------------------------
    def add_received(self, now: float, stamp_ns: int, replaced_unprocessed: bool) -> None:
        with self._lock:
            self.received += 1
            self._last_received_at = now
            if self._first_received_at is None:
                self._first_received_at = now
            self._received_at.append(now)
            while now - self._received_at[0] > RECENT_WINDOW_S:
                self._received_at.popleft()
            self._missed.add(stamp_ns)
            if replaced_unprocessed:
                self.dropped += 1

    def add_processed(self, now: float, latency_ms: float, faces: int) -> None:
        with self._lock:
            self.processed += 1
            self.last_faces = faces
            self._latencies_ms.append(latency_ms)
            self._processed_at.append(now)

    def add_bad(self, now: float, reason: str) -> None:
        with self._lock:
            self.bad_frames += 1
            self.last_error = reason
            self._bad_at.append(now)

    # --- report ------------------------------------------------------------------------
    def report(self, now: float) -> HealthReport:
        with self._lock:
            while self._bad_at and now - self._bad_at[0] > RECENT_WINDOW_S:
                self._bad_at.popleft()
            recent_bad = len(self._bad_at)
            silent_s = None if self._last_received_at is None else now - self._last_received_at
            loss = self._loss(now)
            level, message = self._level(now, recent_bad, silent_s, loss)
            latencies = sorted(self._latencies_ms)
            recent = [t for t in self._processed_at if now - t <= RECENT_WINDOW_S]
            span = recent[-1] - recent[0] if len(recent) > 1 else 0.0
            values: dict[str, float | int | str] = {
                "fps": round((len(recent) - 1) / span, 2) if span > 0 else 0.0,
                "latency_p50_ms": round(_percentile(latencies, 0.5), 2),
                "latency_p95_ms": round(_percentile(latencies, 0.95), 2),
                "faces": self.last_faces,
                "frames_received": self.received,
                "frames_processed": self.processed,
                "frames_dropped": self.dropped,
                "frames_missed_estimate": self._missed.missed,
                "bad_frames": self.bad_frames,
                "bad_frames_recent": recent_bad,
                "seconds_since_last_image": round(silent_s, 2) if silent_s is not None else "never",
                "last_error": self.last_error,
                **self._loss_values(now, loss),
            }
            return HealthReport(level, message, values)

    def _loss(self, now: float) -> FrameLoss | None:
        """
        Return images received against camera_info received over the recent window.

        Images received against camera_info received over the recent window (None
        without camera_info). The window starts at the first image, so a camera_info
        subscription that matched before the image one does not count as loss.
        """
        if self._camera_info is None:
            return None
        start = now - RECENT_WINDOW_S
        if self._first_received_at is not None:
            start = max(start, self._first_received_at - 1e-6)
        infos = self._camera_info.count_since(start)
        images = sum(1 for t in self._received_at if t > start)
        return FrameLoss(images=images, camera_infos=infos, seconds=now - start)

    def _loss_values(self, now: float, loss: FrameLoss | None) -> dict[str, float | int | str]:
        if loss is None:
            return {}
        monitor = self._camera_info
        return {
            "camera_info_topic": monitor.topic,
            "camera_info_received": monitor.received,
            "camera_info_hz": round(monitor.rate_hz(now, RECENT_WINDOW_S), 2),
            "image_hz": round(sum(1 for t in self._received_at if t > now - RECENT_WINDOW_S) / RECENT_WINDOW_S, 2),
            "frames_lost_ratio": round(loss.fraction, 3) if loss.camera_infos else "no camera_info",
        }

    def _level(self, now: float, recent_bad: int, silent_s: float | None, loss: FrameLoss | None) -> tuple[int, str]:
        # camera_info arriving while images do not points at the images' transport.
        info_silent_s = self._camera_info.seconds_since_last(now) if self._camera_info is not None else None
        info_arrives = info_silent_s is not None and info_silent_s <= self.stale_after_s / 2
        hint = ""
        if info_arrives and silent_s is not None and silent_s > self.stale_after_s / 2:
            hint = f", but camera_info arrives on {self._camera_info.topic}: {LOSS_CAUSE}"
        if silent_s is None:
            if info_arrives:
                return WARN, (f"no images received yet, but camera_info arrives on {self._camera_info.topic}: "
                              f"{LOSS_CAUSE}")
            return WARN, "no images received yet"
        if silent_s > self.stale_after_s:
            return ERROR, f"no image for {silent_s:.1f} s (diagnostics.stale_after {self.stale_after_s:g} s){hint}"
        if silent_s > self.stale_after_s / 2:
            return WARN, f"no image for {silent_s:.1f} s (ERROR after {self.stale_after_s:g} s){hint}"
        if loss is not None and loss.camera_infos >= MIN_CAMERA_INFO_FOR_LOSS and loss.fraction > LOSS_WARN_FRACTION:
            return WARN, (f"{loss.fraction:.0%} of the camera's frames lost in the last {loss.seconds:.0f} s "
                          f"({loss.images} images for {loss.camera_infos} camera_info): {LOSS_CAUSE}")
        if recent_bad:
            return WARN, f"{recent_bad} bad frame(s) skipped in the last {RECENT_WINDOW_S:g} s: {self.last_error}"
        return OK, "ok"


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


class PerCauseThrottle:
    """
    Lets one log line per cause through every ``interval_s``; counts what it held back.

    The cause is the reason with its numbers blanked out, so "data has 10 bytes" and
    "data has 12 bytes" share a cause while an unknown encoding and a short step do not.
    At most ``max_causes`` are remembered (the oldest forgotten first).
    """

    def __init__(self, interval_s: float, max_causes: int = 64) -> None:
        self.interval_s = interval_s
        self._max_causes = max_causes
        self._lock = threading.Lock()
        self._causes: OrderedDict[str, tuple[float, int]] = OrderedDict()  # cause -> (last logged, held back)

    @staticmethod
    def cause_of(reason: str) -> str:
        return re.sub(r"\d+", "#", reason)

    def admit(self, reason: str, now: float) -> int | None:
        """
        Return how many lines of this cause were held back, or None to hold this one back.

        None: hold this line back. Otherwise log it; the number is how many of its cause
        were held back since it was last logged.
        """
        cause = self.cause_of(reason)
        with self._lock:
            last, held = self._causes.get(cause, (None, 0))
            if last is not None and now - last < self.interval_s:
                self._causes[cause] = (last, held + 1)
                return None
            self._causes[cause] = (now, 0)
            self._causes.move_to_end(cause)
            while len(self._causes) > self._max_causes:
                self._causes.popitem(last=False)
            return held
