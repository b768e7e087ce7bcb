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
Model cards: the JSON file that ships beside every ``.tflite`` model.

The runtime reads labels, input size and normalisation from the card, never from
constants in the code, so a retrained model with another input size or label order
cannot silently drift from the node that runs it.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
import math
from pathlib import Path
from typing import Any, Mapping

from face_perception.classification.age_groups import ChildCalibration
from face_perception.classification.framing import framing_from_card, FramingError

CARD_SCHEMA_VERSION = 1
SUPPORTED_TASKS = ("emotion", "gender", "age")
# Age cards: the model outputs a softmax over age bins (the labels); the bins' centres turn
# it into years (the expectation). Ages outside this range are not plausible centres.
AGE_CENTRE_RANGE = (0.0, 130.0)
# input.color: "gray" (one channel, OpenCV BGR2GRAY of the frame) or "rgb" (three channels in
# the order R, G, B). Grey is what every card so far says; it stays the default of the trainers.
SUPPORTED_COLOR = ("gray", "rgb")
COLOR_CHANNELS = {"gray": 1, "rgb": 3}


class ModelCardError(ValueError):
    """A model card is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class ModelCard:
    """What the runtime needs from a card; ``raw`` keeps everything else (metrics, provenance)."""

    path: Path
    task: str
    labels: tuple[str, ...]
    input_height: int
    input_width: int
    color: str  # "gray" or "rgb" (channel order R, G, B)
    # Pixel values in [0, 255] are mapped to ``pixel * scale + offset`` before inference.
    scale: float
    offset: float
    raw: Mapping[str, Any]
    # Age cards only: the centre in years of every label's bin, strictly increasing.
    age_bin_centers: tuple[float, ...] | None = None
    # Age cards only: the bins' edges in years (one more than labels), when the card gives them.
    age_bin_edges: tuple[float, ...] | None = None
    # Age cards only: Platt scaling of P(under 13) (card key child_calibration); absent: the raw mass.
    child_calibration: ChildCalibration = ChildCalibration()
    # input.framing (face_perception.classification.framing), validated; None: the card names none (older
    # cards), and the node's box framing with classification.crop_margin applies.
    framing: Mapping[str, Any] | None = None

    @property
    def channels(self) -> int:
        """Input channels the card promises: 1 for grey, 3 for rgb."""
        return COLOR_CHANNELS[self.color]

    def normalize_description(self) -> str:
        return f"x * {self.scale:g} + {self.offset:g}"


def _require(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in mapping:
        raise ModelCardError(f"{where}: missing key '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelCardError(f"{where}: key '{key}' has type {type(value).__name__}")
    return value


def parse_model_card(data: Mapping[str, Any], path: Path | str = "<memory>") -> ModelCard:
    """Validate a card dictionary; raise ModelCardError naming the file and key."""
    where = f"model card {path}"
    if not isinstance(data, Mapping):
        raise ModelCardError(f"{where}: top level must be a JSON object")
    version = _require(data, "schema_version", int, where)
    if version != CARD_SCHEMA_VERSION:
        raise ModelCardError(f"{where}: schema_version {version} is not {CARD_SCHEMA_VERSION}")
    task = _require(data, "task", str, where)
    if task not in SUPPORTED_TASKS:
        raise ModelCardError(f"{where}: task '{task}' is not one of {SUPPORTED_TASKS}")
    labels = _require(data, "labels", list, where)
    if len(labels) < 2 or not all(isinstance(label, str) and label for label in labels):
        raise ModelCardError(f"{where}: 'labels' must list at least two non-empty strings")
    if len(set(labels)) != len(labels):
        raise ModelCardError(f"{where}: 'labels' has duplicates")
    model_input = _require(data, "input", dict, where)
    height = _require(model_input, "height", int, where + " input")
    width = _require(model_input, "width", int, where + " input")
    if not (8 <= height <= 512 and 8 <= width <= 512):
        raise ModelCardError(f"{where}: input size {height}x{width} outside 8..512")
    color = _require(model_input, "color", str, where + " input")
    if color not in SUPPORTED_COLOR:
        raise ModelCardError(f"{where}: input color '{color}' is not one of {SUPPORTED_COLOR}")
    normalization = _require(model_input, "normalization", dict, where + " input")
    scale = float(_require(normalization, "scale", (int, float), where + " input.normalization"))
    offset = float(_require(normalization, "offset", (int, float), where + " input.normalization"))
    if scale == 0.0:
        raise ModelCardError(f"{where}: normalization scale must not be 0")
    centers = _parse_age_bins(data, len(labels), where) if task == "age" else None
    edges = _parse_age_edges(data["age_bins"], centers, where) if centers is not None else None
    calibration = _parse_child_calibration(data, task, where)
    framing = model_input.get("framing")
    if framing is not None:
        try:
            framing_from_card(framing, 0.0, where)
        except FramingError as error:
            raise ModelCardError(str(error)) from error
    return ModelCard(
        path=Path(path),
        task=task,
        labels=tuple(labels),
        input_height=height,
        input_width=width,
        color=color,
        scale=scale,
        offset=offset,
        raw=dict(data),
        age_bin_centers=centers,
        age_bin_edges=edges,
        child_calibration=calibration,
        framing=dict(framing) if framing is not None else None,
    )


def _parse_age_bins(data: Mapping[str, Any], label_count: int, where: str) -> tuple[float, ...]:
    """``age_bins.centers_years``: one centre per label, numbers, strictly increasing, in range."""
    bins = _require(data, "age_bins", dict, where)
    centers = _require(bins, "centers_years", list, where + " age_bins")
    key = "'age_bins.centers_years'"
    if len(centers) != label_count:
        raise ModelCardError(f"{where}: {key} has {len(centers)} entries for {label_count} labels")
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in centers):
        raise ModelCardError(f"{where}: {key} must hold numbers only")
    values = tuple(float(c) for c in centers)
    low, high = AGE_CENTRE_RANGE
    if not all(low <= c <= high for c in values):
        raise ModelCardError(f"{where}: {key} must lie within {low:g}..{high:g} years")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ModelCardError(f"{where}: {key} must be strictly increasing")
    return values


def _parse_age_edges(bins: Mapping[str, Any], centers: tuple[float, ...], where: str) -> tuple[float, ...] | None:
    """``age_bins.edges_years`` (optional): one more than the centres, increasing, each centre inside its bin."""
    if "edges_years" not in bins:
        return None
    edges = bins["edges_years"]
    key = "'age_bins.edges_years'"
    if not isinstance(edges, list) or not all(isinstance(e, (int, float)) and not isinstance(e, bool)
                                              for e in edges):
        raise ModelCardError(f"{where}: {key} must be a list of numbers")
    if len(edges) != len(centers) + 1:
        raise ModelCardError(f"{where}: {key} has {len(edges)} entries for {len(centers)} bins (one more needed)")
    values = tuple(float(e) for e in edges)
    if not all(math.isfinite(e) for e in values) or values[0] < 0.0 or any(b <= a for a, b in zip(values, values[1:])):
        raise ModelCardError(f"{where}: {key} must be finite, from 0 up and strictly increasing")
    if not all(low <= c <= high for c, low, high in zip(centers, values, values[1:])):
        raise ModelCardError(f"{where}: every 'age_bins.centers_years' entry must lie within its bin of {key}")
    return values


def _parse_child_calibration(data: Mapping[str, Any], task: str, where: str) -> ChildCalibration:
    """``child_calibration`` (optional, age cards): {"a": > 0, "b": number, ...}; absent: a = 1, b = 0."""
    if "child_calibration" not in data:
        return ChildCalibration()
    if task != "age":
        raise ModelCardError(f"{where}: 'child_calibration' belongs on an age card, not a {task} card")
    entry = _require(data, "child_calibration", dict, where)
    inner = where + " child_calibration"
    a = float(_require(entry, "a", (int, float), inner))
    b = float(_require(entry, "b", (int, float), inner))
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ModelCardError(f"{inner}: 'a' and 'b' must be finite")
    # a <= 0 would make an older-looking face more of a child: a broken fit, not a calibration.
    if a <= 0.0:
        raise ModelCardError(f"{inner}: 'a' must be greater than 0, got {a:g}")
    return ChildCalibration(a, b)


def load_model_card(path: Path | str) -> ModelCard:
    """Read and validate a card file; every failure names the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ModelCardError(f"model card {path}: cannot read ({error.strerror})") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelCardError(f"model card {path}: invalid JSON ({error})") from error
    return parse_model_card(data, path)
