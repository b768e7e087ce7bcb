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
A 2-epoch training run on ~1,300 real FER-2013 rows must beat chance on 300 held-out rows.

Needs ../shared/data/fer2013.csv.gz (CI has it; users of the package do not: then it skips).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.paths import DEFAULT_FER2013

ROWS = 2400


@pytest.mark.data
@pytest.mark.skipif(not DEFAULT_FER2013.is_file(), reason=f"FER-2013 not found at {DEFAULT_FER2013}")
def test_two_epochs_on_real_rows_beat_majority_class(tmp_path: Path) -> None:
    import keras

    from training.fit.train import main as train_main

    frame = pd.read_csv(DEFAULT_FER2013, nrows=ROWS)
    frame = frame[frame["Usage"] == "Training"].reset_index(drop=True)
    # Re-label the real training rows into our own small train / validation / held-out splits.
    usage = np.array(["Training"] * len(frame), dtype=object)
    usage[-600:-300], usage[-300:] = "PublicTest", "PrivateTest"
    frame["Usage"] = usage
    csv = tmp_path / "fer_small.csv"
    frame.to_csv(csv, index=False)

    out = tmp_path / "run"
    train_main(["--task", "emotion", "--data", str(csv), "--out", str(out), "--epochs", "2",
                "--batch-size", "32", "--lr", "3e-3", "--warmup-epochs", "0.2", "--bn-momentum", "0.8",
                "--augment", "none", "--no-cache", "--verbose", "0"])
    assert (out / "run.json").is_file() and (out / "history.csv").is_file()

    from training.data.loaders.fer2013 import read_fer2013_csv
    from training.data.preprocess import normalize

    held = read_fer2013_csv(csv).splits["test"]
    model = keras.models.load_model(out / "model.keras", compile=False)
    accuracy = float((model.predict(normalize(held.images), verbose=0).argmax(1) == held.labels).mean())
    majority = float(np.bincount(held.labels).max() / len(held.labels))
    print(f"held-out accuracy {accuracy:.3f}, majority class {majority:.3f}, chance {1 / 7:.3f}")
    # Clearly above chance, and not a constant guess below the majority class.
    assert accuracy > 1 / 7 + 0.05
    assert accuracy >= majority
