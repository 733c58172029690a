#!/usr/bin/env bash
# Train the default report classifier into instance/models/tinbao-classifier (about 15–30 s on
# 2 cores, with a progress bar) when it is missing or older than its training data or code.
# Called by `make run` and `make test`; `python -m classifier train` retrains by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${TINBAO_CLASSIFIER_DIR:-instance/models/tinbao-classifier}/model.json
if [ -f "$model" ] && [ -z "$(find classifier -newer "$model" \
      \( -name '*.jsonl' -o -name '*.yaml' -o -name '*.py' \) -print -quit)" ]; then
  echo "classifier: $model is up to date"
  exit 0
fi
echo "classifier: training the default model (python -m classifier train)…"
.venv/bin/python -m classifier train
