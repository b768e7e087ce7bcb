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
Which DDS transport our own processes get, decided once for both start-up paths.

Fast DDS's defaults cannot carry a 640x480 ``bgr8`` image (900 KB) through its 512 KB
shared-memory segment; such samples fall back to fragmented UDP and, measured on the
2-core machine, about 40% of the frames were lost (docs/deployment.md, "DDS"). What matters is the
*sender's* transport, so ``ros2 launch`` and ``face-perception-bringup`` start the
processes that send images (the perception node with its annotated image, the image
source) with ``config/fastdds_large_images.xml`` when the user has chosen nothing:

- no ``FASTRTPS_DEFAULT_PROFILES_FILE`` / ``FASTDDS_DEFAULT_PROFILES_FILE`` (an XML profile),
- no ``FASTDDS_BUILTIN_TRANSPORTS`` (Fast DDS's own transport switch),
- no ``DEFAULT_FASTRTPS_PROFILES.xml`` in the working directory (Fast DDS loads it by itself),
- and the Fast DDS RMW (``RMW_IMPLEMENTATION`` unset or ``rmw_fastrtps_cpp``).

``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA`` was measured as well and did not keep up (docs/deployment.md).
Pure Python: the caller passes the environment and applies the result.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FASTDDS_RMW = "rmw_fastrtps_cpp"
PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
BUILTIN_TRANSPORTS_VARIABLE = "FASTDDS_BUILTIN_TRANSPORTS"
WORKING_DIRECTORY_PROFILE = "DEFAULT_FASTRTPS_PROFILES.xml"
PROFILE_FILE_NAME = "fastdds_large_images.xml"
LAUNCH_ARGUMENT = "dds_large_images"
DOCS_SECTION = "docs/deployment.md, 'DDS: large images'"


@dataclass(frozen=True)
class TransportChoice:
    """Variables to add to our processes' environment, and the one line to log about it."""

    environment: dict[str, str] = field(default_factory=dict)
    description: str = ""


def large_images_profile(share_directory: Path | str) -> str:
    return str(Path(share_directory) / "config" / PROFILE_FILE_NAME)


def parse_switch(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{LAUNCH_ARGUMENT}: '{text}' is not a boolean (true/false)")


def choose_transport(
    environ: Mapping[str, str], enabled: bool, profile_path: str, working_directory: Path | str | None = None
) -> TransportChoice:
    """Return the transport for our processes given the user's environment (nothing is changed here)."""
    rmw = environ.get("RMW_IMPLEMENTATION", "")
    if rmw and rmw != FASTDDS_RMW:
        return TransportChoice(description=f"DDS transport: {rmw}'s own (RMW_IMPLEMENTATION); "
                                           f"large images need its settings, see {DOCS_SECTION}")
    for variable in (*PROFILE_VARIABLES, BUILTIN_TRANSPORTS_VARIABLE):
        if environ.get(variable):
            return TransportChoice(description=f"DDS transport: yours, {variable}={environ[variable]}")
    if working_directory is not None and (Path(working_directory) / WORKING_DIRECTORY_PROFILE).is_file():
        profile = Path(working_directory) / WORKING_DIRECTORY_PROFILE
        return TransportChoice(description=f"DDS transport: yours, {profile}")
    if not enabled:
        return TransportChoice(description=f"DDS transport: Fast DDS defaults ({LAUNCH_ARGUMENT}:=false); "
                                           f"640x480 images between processes get lost, see {DOCS_SECTION}")
    if not Path(profile_path).is_file():
        raise ValueError(f"{LAUNCH_ARGUMENT}: the profile {profile_path} is missing from the package")
    return TransportChoice(
        environment={"FASTRTPS_DEFAULT_PROFILES_FILE": profile_path},
        description=f"DDS transport: {profile_path} (32 MB shared memory + UDPv4) for our nodes; "
                    f"the camera driver needs it too ({DOCS_SECTION}); {LAUNCH_ARGUMENT}:=false turns this off",
    )
