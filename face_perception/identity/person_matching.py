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
Who is this descriptor? A stored person if near enough and clearly nearer than anyone else.

:class:`PersonGallery` is the in-memory copy of the database's descriptors (one matrix, a
brute-force nearest neighbour: 100,000 rows is one matrix-vector product); it reloads when
another process commits to the file. :class:`PersonMatcher` says what one descriptor points
to (:meth:`PersonMatcher.vote`: a person, a stranger, or undecided) and writes decisions;
identity.TrackEvidence weighs several descriptors of a track before one is taken.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_perception.identity.persons_db import PersonStore


@dataclass(frozen=True)
class PersonMatch:
    """The person a face was matched to (or created as)."""

    person_id: str
    name: str  # "" = anonymous
    distance: float  # to the nearest stored descriptor; 0.0 for a person just created
    confidence: float  # see match_confidence
    new: bool  # no stored person was near enough: this one was created now


def match_confidence(distance: float, threshold: float) -> float:
    """
    Map a descriptor distance to [0, 1]: 1 at distance 0, 0.5 at the threshold, 0 at twice it.

    A plain linear scale, so a consumer can read "above 0.5" as "accepted by the threshold".
    """
    return float(np.clip(1.0 - 0.5 * distance / threshold, 0.0, 1.0))


# What one descriptor says (PersonMatcher.vote): no stored person is near it.
STRANGER = ""


@dataclass(frozen=True)
class Vote:
    """What one descriptor says: a person id, STRANGER, or None (near two people: undecided)."""

    person_id: str | None
    distance: float  # to the nearest stored person (inf when there is none)
    second: float  # to the second-nearest stored person (inf when there is none)


class PersonGallery:
    """All stored descriptors in one matrix; nearest person by Euclidean distance."""

    def __init__(self) -> None:
        self.person_ids: list[str] = []
        self.names: dict[str, str] = {}
        # Rows [0, len(person_ids)) are used; capacity doubles, so adding a row is amortised O(1).
        self._rows = np.zeros((0, 0), np.float32)
        self._squared_norms = np.zeros(0, np.float32)
        # Row -> a small integer per person, to find the nearest row of anyone else in one pass.
        self._owners = np.zeros(0, np.int64)
        self._owner_of: dict[str, int] = {}

    @property
    def matrix(self) -> np.ndarray:
        return self._rows[: len(self.person_ids)]

    def load(self, person_ids: list[str], matrix: np.ndarray, names: dict[str, str]) -> None:
        self.person_ids, self.names = list(person_ids), dict(names)
        self._rows = np.array(matrix, np.float32) if self.person_ids else np.zeros((0, 0), np.float32)
        self._squared_norms = (self._rows * self._rows).sum(axis=1)
        self._owner_of = {}
        self._owners = np.array([self._owner_of.setdefault(p, len(self._owner_of)) for p in self.person_ids],
                                np.int64)

    def _squared_distances(self, vector: np.ndarray) -> np.ndarray:
        count = len(self.person_ids)
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: one matrix-vector product over every row.
        return self._squared_norms[:count] - 2.0 * (self._rows[:count] @ vector) + float(vector @ vector)

    def nearest(self, vector: np.ndarray) -> tuple[str, float] | None:
        """Return (person id, distance) of the closest stored descriptor, or None when empty."""
        if not self.person_ids:
            return None
        squared = self._squared_distances(vector)
        index = int(np.argmin(squared))
        return self.person_ids[index], float(np.sqrt(max(float(squared[index]), 0.0)))

    def nearest_two(self, vector: np.ndarray) -> tuple[str, float, float] | None:
        """Return (nearest person, their distance, the distance of the nearest *other* person; inf if none)."""
        if not self.person_ids:
            return None
        squared = self._squared_distances(vector)
        index = int(np.argmin(squared))
        others = squared[self._owners[: len(squared)] != self._owners[index]]
        second = float(np.sqrt(max(float(others.min()), 0.0))) if len(others) else float("inf")
        return self.person_ids[index], float(np.sqrt(max(float(squared[index]), 0.0))), second

    def distance_to(self, vector: np.ndarray, person_id: str) -> float:
        """Return the distance to ``person_id``'s nearest stored descriptor (inf if none)."""
        owner = self._owner_of.get(person_id)
        if owner is None or not self.person_ids:
            return float("inf")
        squared = self._squared_distances(np.asarray(vector, np.float32))
        mine = squared[self._owners[: len(squared)] == owner]
        return float(np.sqrt(max(float(mine.min()), 0.0))) if len(mine) else float("inf")

    def add(self, person_id: str, vector: np.ndarray, name: str = "") -> None:
        vector = np.asarray(vector, np.float32)
        count = len(self.person_ids)
        if count == len(self._rows) or self._rows.shape[1] != vector.shape[0]:
            grown = np.zeros((max(16, 2 * count), vector.shape[0]), np.float32)
            if count:
                grown[:count] = self._rows[:count]
            norms = np.zeros(len(grown), np.float32)
            norms[:count] = self._squared_norms[:count]
            self._rows, self._squared_norms = grown, norms
        if len(self._owners) < len(self._rows):
            owners = np.zeros(len(self._rows), np.int64)
            owners[:count] = self._owners[:count]
            self._owners = owners
        self._rows[count] = vector
        self._squared_norms[count] = float(vector @ vector)
        self._owners[count] = self._owner_of.setdefault(person_id, len(self._owner_of))
        self.person_ids.append(person_id)
        self.names.setdefault(person_id, name)


class PersonMatcher:
    """Matches descriptors to the persons of a :class:`PersonStore`, adding anonymous persons."""

    def __init__(self, store: PersonStore, threshold: float, margin: float = 0.0) -> None:
        self.store = store
        self.threshold = threshold
        # The second-nearest person must be this much farther than the nearest: a face about as
        # near two people is neither (strangers in a crowd of similar faces stay strangers).
        self.margin = margin
        self.gallery = PersonGallery()
        self._version: int | None = None

    def refresh(self) -> None:
        """
        Reload the gallery if another connection changed the file since the last load.

        (Another node, the CLI; SQLite's data_version ignores this connection's own commits,
        which update the gallery as they are made.)
        """
        version = self.store.data_version()
        if version != self._version:
            self.gallery.load(*self.store.load_embeddings())
            self._version = version

    def reload(self) -> None:
        """Reload the gallery now (after this process changed the file)."""
        self._version = None
        self.refresh()

    def vote(self, vector: np.ndarray) -> Vote:
        """
        Say whom ``vector`` points to, without writing.

        A person: the nearest is within the threshold and every other person at least
        ``margin`` farther. STRANGER: no one within the threshold. None: within the threshold
        of the nearest but another person is about as near (undecided).
        """
        self.refresh()
        nearest = self.gallery.nearest_two(np.asarray(vector, np.float32))
        if nearest is None:
            return Vote(STRANGER, float("inf"), float("inf"))
        person_id, distance, second = nearest
        if distance > self.threshold:
            return Vote(STRANGER, distance, second)
        if second - distance < self.margin:
            return Vote(None, distance, second)
        return Vote(person_id, distance, second)

    def confirm(self, person_id: str, vector: np.ndarray, now: float, distance: float, keep: bool = True
                ) -> PersonMatch | None:
        """Record that ``vector`` is ``person_id`` (stored when ``keep``; capped per person); None if forgotten."""
        vector = np.asarray(vector, np.float32)
        if keep:
            if not self.store.add_embedding(person_id, vector, now):
                self.reload()
                return None
            self.gallery.add(person_id, vector)
        else:
            self.store.touch(person_id, now)
        if person_id not in self.gallery.names:
            return None
        return PersonMatch(person_id, self.gallery.names.get(person_id, ""), distance,
                           match_confidence(distance, self.threshold), False)

    def create(self, vector: np.ndarray, now: float, nearest: float = float("inf")) -> PersonMatch:
        """
        Store ``vector`` as a new anonymous person, unless another camera stored this person a moment ago.

        ``nearest``: the distance to the nearest stored person, reported in the match.
        """
        vector = np.asarray(vector, np.float32)
        person_id, created, distance = self.store.add_person_if_new(vector, now, self.threshold)
        if not created:  # another camera stored this person a moment ago
            self.reload()
            return PersonMatch(person_id, self.gallery.names.get(person_id, ""), distance,
                               match_confidence(distance, self.threshold), False)
        self.gallery.add(person_id, vector)
        return PersonMatch(person_id, "", 0.0 if not np.isfinite(nearest) else nearest,
                           match_confidence(0.0, self.threshold), True)

    def match(self, vector: np.ndarray, now: float, keep: bool = True) -> PersonMatch:
        """
        Decide on one descriptor alone: its person (storing it when ``keep``), else a new person.

        An undecided descriptor (near two people) is a new person here; the node weighs a
        track's descriptors instead (identity.TrackEvidence), which can leave it undecided.
        """
        vote = self.vote(vector)
        if vote.person_id:
            match = self.confirm(vote.person_id, vector, now, vote.distance, keep)
            if match is not None:
                return match
        return self.create(vector, now, vote.distance)
