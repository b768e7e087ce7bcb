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
Evidence over a track's frames: a person is announced only when several descriptors agree.

One descriptor can land near the wrong person (a blurred frame, a turned head, a stranger who
looks alike); the descriptors of one track are the same face, so a track is given a person
(or made a new one) only once ``needed`` of its ``window`` newest descriptors point to the
same answer (person_matching.Vote); undecided votes (near two people) never decide.
"""
from __future__ import annotations

from collections import Counter, deque

import numpy as np

from face_perception.identity.person_matching import Vote


class TrackEvidence:
    """The newest votes of a track that has no person yet."""

    def __init__(self, needed: int, window: int) -> None:
        self.needed = max(1, needed)
        self._votes: deque[tuple[Vote, np.ndarray]] = deque(maxlen=max(self.needed, window))

    def add(self, vote: Vote, vector: np.ndarray) -> tuple[str, Vote, np.ndarray] | None:
        """
        Add one descriptor's vote; return (the answer, its nearest vote, that vote's descriptor) once decided.

        The answer is a person id or person_matching.STRANGER (no one: a new person).
        """
        self._votes.append((vote, vector))
        counts = Counter(v.person_id for v, _ in self._votes if v.person_id is not None)
        for answer, count in counts.most_common():
            if count < self.needed:
                break
            # The agreeing descriptor nearest its person is the one to store.
            return (answer, *min(((v, x) for v, x in self._votes if v.person_id == answer),
                                 key=lambda item: item[0].distance))
        return None
