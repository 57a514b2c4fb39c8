#!/usr/bin/env bash
# Set up (if needed) and run the main job: the SSL pipeline with DVC (default profile: CPU,
# ~19-20 minutes on a 2-core AVX-512 machine, about 3x that on AVX2-only ones). Extra arguments go to `dvc repro`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DVC_NO_ANALYTICS=1 MPLBACKEND=Agg PATH="$PWD/.venv/bin:$PATH"
[ -d .dvc ] || dvc init -q
exec dvc repro "$@"
