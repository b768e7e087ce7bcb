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
Who is this descriptor? Nearest stored person within a threshold, else a new anonymous person.

:class:`PersonGallery` is the in-memory copy of the database's descriptors (one matrix, a
brute-force nearest neighbour: 100,000 rows is one matrix-vector product); it reloads when
another process commits to the file. :class:`PersonMatcher` decides and writes.
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


class PersonGallery:
    """All stored descriptors in one matrix; nearest person by Euclidean distance."""

    def __init__(self) -> None:
        self.person_ids: list[str] = []
        self.names: dict[str, str] = {}
        # Rows [0, len(person_ids)) are used; capacity doubles, so adding a row is amortised O(1).
        self._rows = np.zeros((0, 0), np.float32)
        self._squared_norms = np.zeros(0, np.float32)

    @property
    def matrix(self) -> np.ndarray:
        return self._rows[: len(self.person_ids)]

    def load(self, person_ids: list[str], matrix: np.ndarray, names: dict[str, str]) -> None:
        self.person_ids, self.names = list(person_ids), dict(names)
        self._rows = np.array(matrix, np.float32) if self.person_ids else np.zeros((0, 0), np.float32)
        self._squared_norms = (self._rows * self._rows).sum(axis=1)

    def nearest(self, vector: np.ndarray) -> tuple[str, float] | None:
        """Return (person id, distance) of the closest stored descriptor, or None when empty."""
        count = len(self.person_ids)
        if count == 0:
            return None
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: one matrix-vector product over every row.
        squared = self._squared_norms[:count] - 2.0 * (self._rows[:count] @ vector) + float(vector @ vector)
        index = int(np.argmin(squared))
        return self.person_ids[index], float(np.sqrt(max(float(squared[index]), 0.0)))

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
        self._rows[count] = vector
        self._squared_norms[count] = float(vector @ vector)
        self.person_ids.append(person_id)
        self.names.setdefault(person_id, name)


class PersonMatcher:
    """Matches descriptors to the persons of a :class:`PersonStore`, adding anonymous persons."""

    def __init__(self, store: PersonStore, threshold: float) -> None:
        self.store = store
        self.threshold = threshold
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

    def match(self, vector: np.ndarray, now: float, keep: bool = True) -> PersonMatch:
        """
        Return the person ``vector`` belongs to, storing it.

        The nearest person within the threshold gets the descriptor added (capped per person,
        so a person seen often is described in several poses and lights) when ``keep``; a
        face near no one becomes a new anonymous person.
        """
        self.refresh()
        vector = np.asarray(vector, np.float32)
        nearest = self.gallery.nearest(vector)
        if nearest is not None and nearest[1] <= self.threshold:
            person_id, distance = nearest
            if keep and self.store.add_embedding(person_id, vector, now):
                self.gallery.add(person_id, vector)
            elif not keep:
                self.store.touch(person_id, now)
            return PersonMatch(person_id, self.gallery.names.get(person_id, ""), distance,
                               match_confidence(distance, self.threshold), False)
        person_id, created, distance = self.store.add_person_if_new(vector, now, self.threshold)
        if not created:  # another camera stored this person a moment ago
            self.reload()
            return PersonMatch(person_id, self.gallery.names.get(person_id, ""), distance,
                               match_confidence(distance, self.threshold), False)
        self.gallery.add(person_id, vector)
        return PersonMatch(person_id, "", 0.0 if nearest is None else nearest[1],
                           match_confidence(0.0, self.threshold), True)
