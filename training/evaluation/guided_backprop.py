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
Guided back-propagation (the paper's visualisation): which pixels raise a class score.

    python -m training.evaluation.guided_backprop --model face_perception/models/emotion.keras \
        --image face.png --class happy --out gbp.png
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Sequence

from training.evaluation.saliency import guided_backprop, save_figure


def main(argv: Sequence[str] | None = None) -> int:
    import cv2
    import keras

    from training.data.preprocess import normalize, to_gray

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help=".keras model (the float model beside the .tflite)")
    p.add_argument("--card", type=Path, default=None, help="model card (default <model>.card.json) for labels")
    p.add_argument("--image", type=Path, required=True, help="a face crop (any size, colour or grey)")
    p.add_argument("--class", dest="cls", default=None, help="class name or index (default: the predicted one)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from face_perception.classification.model_card import load_model_card

    card = load_model_card(args.card or args.model.with_suffix(".card.json"))
    model = keras.models.load_model(args.model, compile=False)
    raw = cv2.imread(str(args.image))
    if raw is None:
        raise SystemExit(f"--image {args.image}: cannot read")
    face = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB) if card.color == "rgb" else to_gray(raw)
    face = cv2.resize(face, (card.input_width, card.input_height), interpolation=cv2.INTER_AREA)
    x = normalize(face[None], card.scale, card.offset)[0]
    probs = model.predict(x[None], verbose=0)[0]
    if args.cls is None:
        index = int(probs.argmax())
    elif args.cls.isdigit():
        index = int(args.cls)
    elif args.cls in card.labels:
        index = card.labels.index(args.cls)
    else:
        raise SystemExit(f"--class '{args.cls}' is not one of {list(card.labels)}")
    gradient = guided_backprop(model, x, index)
    save_figure(face, gradient, f"{card.labels[index]} (p={probs[index]:.2f})", args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
