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
Merging several cameras' REP-155 face lists into the robot's one list (pure Python).

Each camera's perception node publishes its own list of live face ids (its namespace's
``humans/faces/tracked``). The robot's ``/humans/faces/tracked`` is their union: the newest
list of every camera, in the order the cameras were given. A camera whose list has not
come for ``source_timeout`` seconds (its node died, its driver stopped) counts as empty,
so its faces do not linger in the union.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass
class _Latest:
    ids: tuple[str, ...]
    received_at: float


class TrackedListMerger:
    """Newest id list per source -> their union (not thread-safe: one executor thread)."""

    def __init__(self, sources: Sequence[str], source_timeout_s: float) -> None:
        if not sources:
            raise ValueError("at least one source list is needed")
        if len(set(sources)) != len(sources):
            raise ValueError(f"sources given twice: {sorted({s for s in sources if list(sources).count(s) > 1})}")
        if not source_timeout_s > 0.0:
            raise ValueError(f"source_timeout must be > 0, not {source_timeout_s!r}")
        self.sources = tuple(sources)
        self.source_timeout_s = source_timeout_s
        self._latest: dict[str, _Latest] = {}

    def update(self, source: str, ids: Sequence[str], now: float) -> tuple[str, ...]:
        """Store ``source``'s newest list; returns the merged list."""
        if source not in self.sources:
            raise KeyError(f"unknown source '{source}'")
        self._latest[source] = _Latest(tuple(ids), now)
        return self.merged(now)

    def expire(self, now: float) -> bool:
        """Forgets the lists older than the timeout; True when one with ids was forgotten."""
        stale = [s for s, latest in self._latest.items() if now - latest.received_at > self.source_timeout_s]
        had_ids = any(self._latest[s].ids for s in stale)
        for source in stale:
            del self._latest[source]
        return had_ids

    def merged(self, now: float) -> tuple[str, ...]:
        ids: dict[str, None] = {}  # ordered set
        for source in self.sources:
            latest = self._latest.get(source)
            if latest is not None and now - latest.received_at <= self.source_timeout_s:
                ids.update(dict.fromkeys(latest.ids))
        return tuple(ids)

    def duplicates(self) -> dict[str, tuple[str, ...]]:
        """Ids that two or more sources list now -> those sources (ids must be unique per robot)."""
        owners: dict[str, list[str]] = {}
        for source in self.sources:
            latest = self._latest.get(source)
            for face_id in latest.ids if latest else ():
                owners.setdefault(face_id, []).append(source)
        return {face_id: tuple(found) for face_id, found in owners.items() if len(found) > 1}

    @property
    def live_sources(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources if s in self._latest)
