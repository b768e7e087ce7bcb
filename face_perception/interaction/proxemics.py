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
Proxemic zones: which persons are in the robot's personal, social or public space (no ROS).

Hall's zones as ROS4HRI uses them: personal up to ``personal_distance`` (1.2 m), social up to
``social_distance`` (3.6 m), public up to ``public_distance`` (7.6 m, the end of Hall's close
public phase); a person farther away, or without a 3-D position, is in none of the lists.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Mapping, Sequence

import numpy as np

ZONES = ("personal", "social", "public")


@dataclass(frozen=True)
class ProxemicDistances:
    """Outer edge of each zone in metres; checked on construction."""

    personal_m: float = 1.2
    social_m: float = 3.6
    public_m: float = 7.6

    def __post_init__(self) -> None:
        if not 0.0 < self.personal_m < self.social_m < self.public_m:
            raise ValueError(f"engagement: personal_distance ({self.personal_m}) < social_distance "
                             f"({self.social_m}) < public_distance ({self.public_m}) must hold")


def zone(distance_m: float, distances: ProxemicDistances) -> str | None:
    """Return "personal", "social", "public", or None beyond the public space or without a distance."""
    if not math.isfinite(distance_m):
        return None
    if distance_m <= distances.personal_m:
        return "personal"
    if distance_m <= distances.social_m:
        return "social"
    if distance_m <= distances.public_m:
        return "public"
    return None


def zone_lists(positions: Mapping[str, Sequence[float]], distances: ProxemicDistances,
               origin: Sequence[float] = (0.0, 0.0, 0.0)) -> dict[str, list[str]]:
    """Return zone -> the sorted ids of the persons in it, from their positions (metres, the origin's frame)."""
    lists: dict[str, list[str]] = {name: [] for name in ZONES}
    centre = np.asarray(origin, np.float64)
    for person_id, position in positions.items():
        where = zone(float(np.linalg.norm(np.asarray(position, np.float64) - centre)), distances)
        if where is not None:
            lists[where].append(person_id)
    return {name: sorted(ids) for name, ids in lists.items()}
