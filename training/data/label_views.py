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
Which labels each reported test number is computed against ("views" of a test split).

Emotion with FER+ votes: with RAF-DB joined (framed training), the union of both sets first
(the headline), each set on its own labels next; then the FER+ majority labels (faces with a
majority; the FER+ papers' protocol), then the original FER-2013 labels of every face (the 2017 paper's comparison),
then the FER+ majority faces of the six emotions without neutral (scored by mean class recall,
a stand-in for balanced, lab-posed sets).
Gender: every face, adults and children, and each age band (a care home meets the elderly most);
with UTKFace and LFW joined (framed training), UTKFace and LFW each on their own first.
The first view is the primary one: the export rule and the card's headline accuracy use it.
"""
from __future__ import annotations

import numpy as np

from training.data.dataset import Split

ADULT_AGE = 18
View = tuple["np.ndarray | None", np.ndarray]  # (mask over the split or None = all, labels)


POSED_VIEW = "FER+ majority, 6 emotions (no neutral)"
# Emotion with several data sets: every face with a label (FER+ majority or the set's own).
UNION_VIEW = "all sets (FER+ majority, the other sets' labels)"


def label_views(task: str, split: Split, labels: list[str] | None = None) -> dict[str, View]:
    """``labels``: the task's class names (needed to find neutral for the emotion views)."""
    if task == "emotion" and "ferplus_majority" in split.extra:
        majority = split.extra["ferplus_majority"]
        views: dict[str, View] = {}
        fer = np.ones(len(split), bool)
        if "source_set" in split.extra:  # FER-2013 joined with in-the-wild sets: the union first, then each set
            from training.data.tasks import EMOTION_SET_NAMES, EMOTION_SETS

            views[UNION_VIEW] = (majority >= 0, majority)
            codes = split.extra["source_set"]
            fer = codes == EMOTION_SETS.index("fer2013")
            views["FER+ majority labels"] = (fer & (majority >= 0), majority)
            for code in np.unique(codes[~fer]):
                views[f"{EMOTION_SET_NAMES[EMOTION_SETS[code]]} labels"] = (codes == code, majority)
            views["FER-2013 original labels"] = (fer, split.labels)
        else:
            views["FER+ majority labels"] = (majority >= 0, majority)
            views["FER-2013 original labels"] = (None, split.labels)
        # Lab-posed expression sets have no neutral and about as many faces per class: the mean
        # recall over this view's six classes is our stand-in for them (the model still may say neutral).
        if "neutral" in labels:
            views[POSED_VIEW] = (fer & (majority >= 0) & (majority != labels.index("neutral")), majority)
        return views
    if "source_set" in split.extra:  # UTKFace + LFW (gender with framing): each set on its own
        utk = split.extra["source_set"] == 0
        views = {"UTKFace": (utk, split.labels), "LFW": (~utk, split.labels)}
    else:
        utk = None
        views = {"all": (None, split.labels)}
    if task == "gender" and "age" in split.extra:
        from training.data.age import AGE_BANDS, band_index

        ages = split.extra["age"]
        known = ages >= 0 if utk is None else utk  # LFW faces have no age
        views[f"adults ({ADULT_AGE}+)"] = (known & (ages >= ADULT_AGE), split.labels)
        views[f"children (0-{ADULT_AGE - 1})"] = (known & (ages < ADULT_AGE), split.labels)
        bands = band_index(np.maximum(ages, 0))
        for b, (name, _, _) in enumerate(AGE_BANDS):
            views[f"age {name}"] = (known & (bands == b), split.labels)
    return views


def select(view: View, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return the view's labels and the given per-face arrays, restricted to the view's faces."""
    mask, labels = view
    if mask is None:
        return (labels, *arrays)
    return (labels[mask], *(a[mask] for a in arrays))
