#!/usr/bin/env bash
# Set up (if needed) and run the main job: the SSL pipeline with DVC (default profile: CPU,
# about 10 minutes on 2 cores). Extra arguments go to `dvc repro`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DVC_NO_ANALYTICS=1 MPLBACKEND=Agg PATH="$PWD/.venv/bin:$PATH"
[ -d .dvc ] || dvc init -q
exec dvc repro "$@"
