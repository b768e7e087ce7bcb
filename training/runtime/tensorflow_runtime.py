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
TensorFlow's CPU settings for everything in ``training``, fixed before TensorFlow loads.

TensorFlow 2.21's oneDNN kernels corrupt the heap on some x86-64 CPUs (an AVX-512 Intel
Xeon and an AMD Zen 4 here: ``conv2d_backprop_filter`` aborts in guided back-prop, and
training 64x64 inputs corrupted the heap before; TensorFlow issue 117700). TensorFlow reads
``TF_ENABLE_ONEDNN_OPTS`` once, when it loads, so ``training/__init__.py`` calls
:func:`configure` before any training module imports Keras or TensorFlow. The measured cost
(one training epoch with and without oneDNN) is in training/README.md ("TensorFlow on the CPU").

A user who wants oneDNN anyway sets ``TF_ENABLE_ONEDNN_OPTS=1`` explicitly: an explicit value
is kept, and :func:`describe` reports it.
"""
from __future__ import annotations

from importlib import metadata
import os
from pathlib import Path
import sys

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
# oneDNN off: Eigen's kernels, which have no such crash on any CPU we ran.
SAFE_ONEDNN_VALUE = "0"
# Set by configure() when it chose the value (so describe() can tell the two cases apart).
_CHOSEN_MARKER = "FACE_PERCEPTION_ONEDNN_DEFAULT"


class TensorFlowAlreadyLoaded(RuntimeError):
    """TensorFlow was imported before training could choose its CPU settings."""


def configure() -> None:
    """
    Turn TensorFlow's oneDNN kernels off unless the user chose a value; call before TensorFlow loads.

    Raises :class:`TensorFlowAlreadyLoaded` when TensorFlow is already imported and the setting
    would come too late (the process would train with oneDNN on without saying so).
    """
    if ONEDNN_VARIABLE in os.environ and os.environ.get(_CHOSEN_MARKER) != "1":
        return  # the user's explicit choice
    if "tensorflow" in sys.modules and os.environ.get(ONEDNN_VARIABLE) != SAFE_ONEDNN_VALUE:
        raise TensorFlowAlreadyLoaded(
            f"TensorFlow was imported before the training package: import training (or set "
            f"{ONEDNN_VARIABLE}={SAFE_ONEDNN_VALUE}) before TensorFlow or Keras, see training/README.md")
    os.environ[ONEDNN_VARIABLE] = SAFE_ONEDNN_VALUE
    # Child processes (tests, make train's steps) inherit the value as the training default, not as a user choice.
    os.environ[_CHOSEN_MARKER] = "1"


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo (or the platform's processor string)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_avx512_flags() -> list[str]:
    """Return the CPU's AVX-512 feature flags (empty on a CPU without AVX-512 or without /proc/cpuinfo)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return sorted(flag for flag in line.split(":", 1)[1].split() if flag.startswith("avx512"))
    except OSError:
        pass
    return []


def describe() -> dict[str, str]:
    """Describe what training runs on: CPU, AVX-512 flags, TensorFlow version and oneDNN settings in force."""
    tensorflow_version = "not installed"
    for distribution in ("tensorflow", "tensorflow-cpu", "tf-nightly"):  # one module, several wheels
        try:
            tensorflow_version = f"{metadata.version(distribution)} ({distribution})"
            break
        except metadata.PackageNotFoundError:
            continue
    value = os.environ.get(ONEDNN_VARIABLE)
    if value is None:
        onednn = "TensorFlow's default (oneDNN on)"
    elif os.environ.get(_CHOSEN_MARKER) == "1":
        onednn = f"{value} (training's default: oneDNN off)"
    else:
        onednn = f"{value} (set by the user)"
    return {
        "cpu": cpu_model(),
        "avx512": " ".join(cpu_avx512_flags()) or "none",
        "tensorflow": tensorflow_version,
        ONEDNN_VARIABLE: onednn,
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "unset"),
    }


def onednn_in_use() -> bool:
    """Return whether the loaded TensorFlow runs oneDNN kernels (imports TensorFlow)."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
