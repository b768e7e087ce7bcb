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

"""Age groups and P(child): the bin-to-group mapping, the card's child_calibration, the node's fields."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from rclpy.parameter import Parameter

from conftest import wait_for
from face_perception.classification import age_groups, classification
from face_perception.classification.age_groups import AGE_GROUP_NAMES, AgeGroupReader, ChildCalibration
from face_perception.classification.model_card import load_model_card, ModelCardError, parse_model_card
from face_perception.ros import ros_messages
from ros_helpers import image_message

# The shipped card's 21 bins.
EDGES = [0, 3, 6, 10, 13, 16, 18, 21, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 90, 131]
CENTERS = [(low + high) / 2 for low, high in zip(EDGES, EDGES[1:])]


def reader(calibration: ChildCalibration = ChildCalibration()) -> AgeGroupReader:
    return AgeGroupReader(CENTERS, EDGES, calibration)


def one_hot(index: int) -> np.ndarray:
    p = np.zeros(len(CENTERS))
    p[index] = 1.0
    return p


def test_group_names_match_the_message_constants() -> None:
    assert ros_messages.MESSAGE_AGE_GROUP_ORDER == AGE_GROUP_NAMES
    assert len(AGE_GROUP_NAMES) == 9


def test_every_bin_mass_is_kept() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.dirichlet(np.ones(len(CENTERS)))
        assert reader().group_probabilities(p).sum() == pytest.approx(1.0, abs=1e-12)
    matrix = age_groups.overlap_matrix(EDGES, [(low, high) for _, low, high in age_groups.AGE_GROUPS])
    assert matrix.sum(axis=1) == pytest.approx(np.ones(len(CENTERS)))


def test_bin_18_20_is_split_by_the_years_it_covers() -> None:
    groups = dict(zip(AGE_GROUP_NAMES, reader().group_probabilities(one_hot(EDGES.index(18)))))
    assert groups["10-19"] == pytest.approx(2 / 3) and groups["20-29"] == pytest.approx(1 / 3)
    assert sum(v for k, v in groups.items() if k not in ("10-19", "20-29")) == 0.0


@pytest.mark.parametrize("start, group", [(0, "0-2"), (3, "3-9"), (6, "3-9"), (10, "10-19"), (13, "10-19"),
                                          (16, "10-19"), (21, "20-29"), (25, "20-29"), (55, "50-59"),
                                          (65, "60-69"), (70, "70+"), (80, "70+"), (90, "70+")])
def test_a_one_hot_bin_maps_to_its_group(start: int, group: str) -> None:
    probabilities = reader().group_probabilities(one_hot(EDGES.index(start)))
    assert probabilities[AGE_GROUP_NAMES.index(group)] == pytest.approx(1.0)
    assert age_groups.most_likely_group(probabilities) == group


def test_child_mass_is_the_bins_under_13_and_calibration_is_platt_scaling() -> None:
    p = np.full(len(CENTERS), 0.01)
    p[:4] = [0.1, 0.1, 0.05, 0.05]  # 0-2, 3-5, 6-9, 10-12
    raw = 0.3 / p.sum()
    assert reader().raw_child_probability(p) == pytest.approx(raw)
    assert reader().child_probability(p) == pytest.approx(raw)  # a = 1, b = 0: the raw mass
    calibrated = reader(ChildCalibration(2.0, -1.0)).child_probability(p)
    assert calibrated == pytest.approx(1 / (1 + math.exp(-(2 * math.log(raw / (1 - raw)) - 1))))
    # Extreme masses stay finite and ordered.
    assert 0.0 < reader(ChildCalibration(3.0, 0.5)).child_probability(one_hot(20)) < 1e-3
    assert reader(ChildCalibration(3.0, 0.5)).child_probability(one_hot(0)) > 0.999
    assert math.isnan(reader().child_probability(np.zeros(len(CENTERS))))
    assert not reader().group_probabilities(np.zeros(len(CENTERS))).any()


def test_without_edges_each_bin_counts_in_the_group_holding_its_centre() -> None:
    groups = AgeGroupReader(CENTERS).group_probabilities(one_hot(EDGES.index(18)))  # centre 19.5
    assert groups[AGE_GROUP_NAMES.index("10-19")] == 1.0
    with pytest.raises(ValueError, match="22 age bin edges for 20 bins"):
        AgeGroupReader(CENTERS[:20], EDGES)


def age_card(**changes) -> dict:
    card = {
        "schema_version": 1, "task": "age", "labels": [f"bin{i}" for i in range(len(CENTERS))],
        "input": {"height": 48, "width": 48, "color": "gray", "normalization": {"scale": 1 / 255, "offset": 0.0}},
        "age_bins": {"centers_years": CENTERS, "edges_years": EDGES},
    }
    card.update(changes)
    return card


def test_a_card_without_child_calibration_gives_the_raw_probability() -> None:
    card = parse_model_card(age_card())
    assert card.child_calibration == ChildCalibration(1.0, 0.0)
    assert card.age_bin_edges == tuple(float(e) for e in EDGES)


def test_a_card_with_child_calibration_is_read(tmp_path: Path) -> None:
    path = tmp_path / "age.card.json"
    entry = {"a": 1.3, "b": -0.2, "fitted_on": "validation", "command": "python -m training.fit.child_calibration"}
    path.write_text(json.dumps(age_card(child_calibration=entry)))
    assert load_model_card(path).child_calibration == ChildCalibration(1.3, -0.2)


@pytest.mark.parametrize("entry, message", [
    ([1.0, 0.0], "key 'child_calibration' has type list"),
    ({"b": 0.0}, "missing key 'a'"),
    ({"a": "1", "b": 0.0}, "key 'a' has type str"),
    ({"a": 1.0, "b": True}, "key 'b' has type bool"),
    ({"a": 1.0, "b": math.inf}, "must be finite"),
    ({"a": 0.0, "b": 0.0}, "'a' must be greater than 0"),
    ({"a": -1.0, "b": 0.0}, "'a' must be greater than 0"),
])
def test_a_malformed_child_calibration_is_refused_naming_the_file(tmp_path: Path, entry, message: str) -> None:
    path = tmp_path / "broken_age.card.json"
    path.write_text(json.dumps(age_card(child_calibration=entry)))
    with pytest.raises(ModelCardError, match="broken_age.card.json") as error:
        load_model_card(path)
    assert message in str(error.value)


def test_child_calibration_and_bad_edges_are_refused(tmp_path: Path) -> None:
    gender = {"schema_version": 1, "task": "gender", "labels": ["female", "male"],
              "input": {"height": 48, "width": 48, "color": "gray", "normalization": {"scale": 1.0, "offset": 0.0}},
              "child_calibration": {"a": 1.0, "b": 0.0}}
    with pytest.raises(ModelCardError, match="belongs on an age card"):
        parse_model_card(gender, "g.card.json")
    for edges, message in ((EDGES[:-1], "one more needed"), (EDGES[::-1], "strictly increasing"),
                           ([0, 1] + EDGES[2:], "within its bin"), ("0-131", "list of numbers")):
        with pytest.raises(ModelCardError, match=message):
            parse_model_card(age_card(age_bins={"centers_years": CENTERS, "edges_years": edges}), "a.card.json")


def test_shipped_card_edges_are_read() -> None:
    shipped = classification.MODELS_DIRECTORY / "age.card.json"
    if not shipped.is_file():
        pytest.skip(f"{shipped} not shipped")
    card = load_model_card(shipped)
    assert card.age_bin_edges == tuple(float(e) for e in EDGES)


@pytest.mark.ros
def test_node_fills_age_groups_and_child_fields_on_a_real_face(ros_graph, astronaut_bgr):
    """The shipped age model on the astronaut photo (an adult): groups filled, not a child; the threshold is live."""
    shipped = classification.MODELS_DIRECTORY / "age.tflite"
    if not shipped.is_file():
        pytest.skip(f"{shipped} not shipped")
    node, probe = ros_graph({"classification.age_model": "", "tracking.smoothing": 1.0})
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    face = probe.attributes_for(header).faces[0]
    groups = np.asarray(face.age_group_probabilities)
    assert groups.sum() == pytest.approx(1.0, abs=1e-5) and (groups >= 0).all()
    assert face.age_group == AGE_GROUP_NAMES[int(groups.argmax())]
    assert face.age_group in ("20-29", "30-39", "40-49"), face.age_group
    assert 0.0 <= face.child_probability < 0.5 and not face.is_child

    refused = node.set_parameters([Parameter("classification.child_threshold", value=1.5)])[0]
    assert not refused.successful and "classification.child_threshold" in refused.reason
    # Threshold 0: every face with an age model is a child; the model is kept, only the reading changes.
    assert node.set_parameters([Parameter("classification.child_threshold", value=0.0)])[0].successful
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert probe.attributes_for(header).faces[0].is_child
