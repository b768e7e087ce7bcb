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
Face identity off the frame's critical path: a worker thread embeds and matches, tracks read the answers.

:class:`IdentityWorker` owns the descriptor model and the persons database and runs on a
thread of its own: the frame thread only cuts a 150x150 chip (a warp, well under a
millisecond) and hands it over without waiting; a full queue means the chip waits for a later
frame. :class:`TrackIdentities` decides, on the frame thread, which tracks need a descriptor
(every ``evidence_interval`` seconds until the track has a person, then every
``refresh_interval``), skips faces too small, turned or blurred to trust (identity_quality),
gives each track its person, and lets a face that returns within ``rejoin_gap`` seconds
continue its old track (id and smoothing). A track gets a person only when several of its
descriptors agree (identity_evidence): strangers stay strangers rather than taking the
nearest person's id.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import os
import queue
import threading
import time
from typing import Callable, Iterable

import numpy as np

from face_perception.detection.detection import Keypoints
from face_perception.identity.face_embedding import align_chip, FaceEmbedder
from face_perception.identity.identity_evidence import TrackEvidence
from face_perception.identity.identity_quality import face_quality, good_enough
from face_perception.identity.person_matching import PersonMatch, PersonMatcher, STRANGER
from face_perception.identity.persons_db import PersonStore, PersonStoreError, StoredPerson
from face_perception.parameters import IdentityConfig
from face_perception.tracking.tracking import FaceTracker, Track

# Chips waiting for the worker; more are refused (the frame thread never blocks).
QUEUE_SIZE = 4
# Seconds between two sweeps of anonymous persons past their retention.
EXPIRY_PERIOD_S = 60.0
# The worker thread's niceness above the node's: on a busy CPU the frame thread goes first
# (Linux gives each thread its own nice value; elsewhere the worker runs at the node's).
WORKER_NICENESS = 10
# An undecided track's evidence is dropped once it has had no descriptor for this long.
EVIDENCE_MAX_AGE_S = 60.0


class IdentityWorker:
    """Embeds chips and matches them to persons on a thread of its own."""

    def __init__(self, config: IdentityConfig, embedder: FaceEmbedder,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.embedder = embedder
        self._clock = clock
        self.store = PersonStore(config.database, embedder.name, config.max_embeddings_per_person)
        self.matcher = PersonMatcher(self.store, config.match_threshold, config.match_margin)
        self.matcher.refresh()
        self._next_expiry = 0.0
        self._expire_anonymous()  # also after a long time without faces: at start-up
        self.problem = ""  # set once the database fails: identity then stops, the node runs on
        self.descriptors_made = 0  # every descriptor computed (stored or only weighed as evidence)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._results: dict[str, PersonMatch] = {}
        # Tracks without a person yet: their votes so far, and when the last one came.
        self._evidence: dict[str, tuple[TrackEvidence, float]] = {}
        self._lock = threading.Lock()  # guards _results and the matcher (services use it too)
        self._idle = threading.Condition()
        self._busy = 0
        self._thread = threading.Thread(target=self._run, name="face_identity_worker", daemon=True)
        self._thread.start()

    def configure(self, config: IdentityConfig) -> None:
        """Apply threshold, cap and retention changes (the database path is read at start-up)."""
        with self._lock:
            self.config = config
            self.matcher.threshold = config.match_threshold
            self.matcher.margin = config.match_margin
            self.store.max_embeddings_per_person = config.max_embeddings_per_person

    def submit(self, track_id: str, chip: np.ndarray, person_id: str | None = None) -> bool:
        """
        Queue a chip for ``track_id``; False (nothing queued) when the worker is busy or failed.

        ``person_id``: the track's person, if it has one (the chip may then add to their
        descriptors); None: the chip is evidence towards the track's person.
        """
        if self.problem:
            return False
        with self._idle:
            try:
                self._queue.put_nowait((track_id, chip, person_id))
            except queue.Full:
                return False
            self._busy += 1
        return True

    def take_results(self) -> dict[str, PersonMatch]:
        """Track id -> person, for the chips finished since the last call."""
        with self._lock:
            results, self._results = self._results, {}
        return results

    def end_track(self, track_id: str) -> None:
        """Forget an undecided track's evidence (its track was dropped)."""
        with self._lock:
            self._evidence.pop(track_id, None)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued chip is matched (tests, offline evaluation)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10.0)
        self.store.close()

    # --- services (enrol, rename, forget, list) ---------------------------------------
    def set_name(self, person_id: str, name: str) -> bool:
        with self._lock:
            found = self.store.set_name(person_id, name)
            if found:
                self.matcher.gallery.names[person_id] = name
            return found

    def forget(self, person_id: str) -> bool:
        with self._lock:
            try:
                return self.store.forget(person_id)
            finally:
                self.matcher.reload()  # also when the rows went but the erasure of old copies must wait

    def known_person_ids(self) -> list[str]:
        """Return the ids of every stored person (as of the last match or reload)."""
        with self._lock:
            return list(self.matcher.gallery.names)

    def persons(self) -> list[StoredPerson]:
        with self._lock:
            return self.store.persons()

    # --- the thread --------------------------------------------------------------------
    def _run(self) -> None:
        _lower_this_threads_priority(WORKER_NICENESS)
        while True:
            item = self._queue.get()
            if item is None:
                return
            track_id, chip, person_id = item
            try:
                if not self.problem:
                    vector = self.embedder.embed([chip])[0]
                    self.descriptors_made += 1
                    with self._lock:
                        self._expire_anonymous()
                        now = self._clock()
                        match = (self._weigh(track_id, vector, now) if person_id is None
                                 else self._refresh(person_id, vector, now))
                        if match is not None:
                            self._results[track_id] = match
            except PersonStoreError as error:
                self.problem = str(error)
            except Exception as error:  # a bug must not end identity silently: off, with the reason logged
                self.problem = f"identity worker failed: {type(error).__name__}: {error}"
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _weigh(self, track_id: str, vector: np.ndarray, now: float) -> PersonMatch | None:
        """Add a descriptor to a track's evidence; its person (found or made) once enough agree."""
        self._evidence = {t: e for t, e in self._evidence.items() if now - e[1] <= EVIDENCE_MAX_AGE_S}
        evidence = self._evidence.get(track_id, (None, now))[0] or TrackEvidence(
            self.config.evidence_needed, self.config.evidence_window)
        self._evidence[track_id] = (evidence, now)
        decided = evidence.add(self.matcher.vote(vector), vector)
        if decided is None:
            return None
        del self._evidence[track_id]
        answer, vote, best = decided
        if answer != STRANGER:
            match = self.matcher.confirm(answer, best, now, vote.distance)
            if match is not None:
                return match
        return self.matcher.create(best, now, vote.distance)

    def _refresh(self, person_id: str, vector: np.ndarray, now: float) -> PersonMatch | None:
        """
        Store a later descriptor of a track that has its person for them, when near enough.

        Within ``same_track_threshold`` of the person and claimed by no one else: the track
        vouches for the face, so new poses and lights are kept (several descriptors per person).
        """
        vote = self.matcher.vote(vector)
        distance = self.matcher.gallery.distance_to(vector, person_id)
        if vote.person_id not in (person_id, STRANGER) or distance > self.config.same_track_threshold:
            return None
        return self.matcher.confirm(person_id, vector, now, distance)

    def _expire_anonymous(self) -> None:
        now = self._clock()
        if now < self._next_expiry:
            return
        self._next_expiry = now + EXPIRY_PERIOD_S
        if self.store.forget_anonymous_before(now - self.config.anonymous_retention):
            self.matcher.reload()


def _lower_this_threads_priority(step: int) -> None:
    """Raise the calling thread's nice value by ``step`` (Linux: per thread), capped at 19."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + step))
    except (AttributeError, OSError):
        pass  # no per-thread priority here: the worker shares the node's


@dataclass
class _LostTrack:
    track: Track
    lost_at: float


class TrackIdentities:
    """Which person each track is, on the frame thread; asks the worker for descriptors."""

    def __init__(self, worker: IdentityWorker, clock: Callable[[], float] = time.monotonic) -> None:
        self.worker = worker
        self._clock = clock
        self.persons: dict[str, PersonMatch] = {}  # live track id -> person
        self._submitted: dict[str, float] = {}  # live track id -> when its last chip was queued
        self._weighed: dict[str, int] = {}  # live track id -> chips queued while it had no person
        self._lost: dict[str, _LostTrack] = {}  # person id -> their last track, dropped recently

    def person_of(self, track_id: str) -> PersonMatch | None:
        """
        Return the track's person as stored now: a new name shows at once, a forgotten person is gone.

        (Read without the worker's lock: a dict lookup is atomic under the GIL.)
        """
        match = self.persons.get(track_id)
        if match is None:
            return None
        names = self.worker.matcher.gallery.names
        if match.person_id not in names:
            del self.persons[track_id]
            return None
        name = names[match.person_id]
        return match if name == match.name else dataclasses.replace(match, name=name)

    def apply_results(self, tracker: FaceTracker) -> None:
        """
        Give tracks the persons the worker found; before the frame's tracking.

        A new track whose person lost a track less than ``rejoin_gap`` seconds ago continues
        that track (its id and smoothed outputs), so an occlusion does not restart it.
        """
        now = self._clock()
        gap = self.worker.config.rejoin_gap
        self._lost = {p: lost for p, lost in self._lost.items() if now - lost.lost_at <= gap}
        live = {track.track_id for track in tracker.tracks}
        for track_id, match in self.worker.take_results().items():
            if track_id not in live:
                continue
            self._weighed.pop(track_id, None)
            lost = self._lost.pop(match.person_id, None)
            if track_id not in self.persons and lost is not None and lost.track.track_id not in live:
                tracker.adopt(track_id, lost.track)
                self._submitted[lost.track.track_id] = self._submitted.pop(track_id, now)
                track_id = lost.track.track_id
            self.persons[track_id] = match

    def after_tracking(self, tracker: FaceTracker, image: np.ndarray,
                       faces: Iterable[tuple[str, Keypoints]]) -> None:
        """Remember dropped tracks' persons, and queue chips of tracks due for a descriptor."""
        now = self._clock()
        for track in tracker.dropped:
            self._submitted.pop(track.track_id, None)
            self._weighed.pop(track.track_id, None)
            self.worker.end_track(track.track_id)
            match = self.persons.pop(track.track_id, None)
            if match is not None:
                self._lost[match.person_id] = _LostTrack(track, now)
        config = self.worker.config
        for track_id, keypoints in faces:
            person = self.person_of(track_id)
            # A track without a person is described quickly for one window of evidence; one that
            # stays undecided (near two people) then waits refresh_interval like the others.
            quick = person is None and self._weighed.get(track_id, 0) < max(config.evidence_window,
                                                                            config.evidence_needed)
            interval = config.evidence_interval if quick else config.refresh_interval
            last = self._submitted.get(track_id)
            if last is not None and now - last < interval:
                continue
            try:
                chip = align_chip(image, keypoints)
            except ValueError:
                continue  # degenerate keypoints this frame: try the next one
            if not good_enough(face_quality(keypoints, chip), config.min_eye_distance, config.max_turn,
                               config.min_sharpness):
                continue  # too small, turned or blurred to trust: wait for a better frame
            if self.worker.submit(track_id, chip, None if person is None else person.person_id):
                self._submitted[track_id] = now
                if person is None:
                    self._weighed[track_id] = self._weighed.get(track_id, 0) + 1
