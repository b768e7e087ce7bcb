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
# Run training.fit.train on a machine with a GPU, JAX and no TensorFlow (Keras 3, KERAS_BACKEND=jax).
# Needs build/gpu/wheels/*.whl (keras and its pure deps for that Python) and a decoded cache
# build/gpu/fer_trainval.npz.xz made by training.data.cache; see training/README.md.
# Usage: training/fit/gpu_train.sh OUTDIR [-- extra args for every run] ; runs the configs below in parallel.
set -euo pipefail
out=${1:?output folder}
site=/tmp/gpusite
mkdir -p "$site" "$out"
for wheel in build/gpu/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$site"; done
[ -f /tmp/fer_trainval.npz ] || xz -dc build/gpu/fer_trainval.npz.xz > /tmp/fer_trainval.npz
export PYTHONPATH="$site:$PWD" KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false
work=/tmp/gpu_runs
run() {  # name, then training.fit.train arguments
  local name=$1; shift
  python3 -m training.fit.train --task emotion --data /tmp/fer_trainval.npz --out "$work/$name" --verbose 2 \
    --max-minutes 7 "$@" > "$work/$name.log" 2>&1 &
}
mkdir -p "$work"
run paper60_l2e-3 --arch mini_xception --epochs 60 --l2 0.001
run wide60_l2e-3 --arch mini_xception_wide --epochs 60 --l2 0.001
run wide60_l2e-4 --arch mini_xception_wide --epochs 60 --l2 0.0001
wait
# The device returns few files: keep the models, run records and one combined log.
for dir in "$work"/*/; do
  name=$(basename "$dir")
  cp "$dir/model.keras" "$out/$name.keras"; cp "$dir/run.json" "$out/$name.json" || true
  { echo "== $name"; grep -E "step|best" "$work/$name.log"; } >> "$out/logs.txt"
done
