#!/usr/bin/env bash
# Set up (if needed) and run the main job: the SSL pipeline with DVC (default profile: CPU; its
# time is in the README). Extra arguments go to `dvc repro`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DVC_NO_ANALYTICS=1 MPLBACKEND=Agg PATH="$PWD/.venv/bin:$PATH"
[ -d .dvc ] || dvc init -q
# params.yaml against the project's schema first: DVC would parse a value such as `seeds: 0` and
# fail with an error of its own before any stage could say which key is wrong.
python -m ssl_mm.params || exit $?
# The warm stage server (ssl_mm/stages/warm.py): stages run as forks of one process that imported
# torch, MMagic and MLflow once, instead of ~5 s of imports each. It ends with this script.
server_dir=$(mktemp -d)
python -c 'import sys; from ssl_mm.stages.warm import serve; serve(sys.argv[1])' "$server_dir/stages.sock" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$server_dir"' EXIT
SSL_MM_STAGE_SERVER="$server_dir/stages.sock" dvc repro "$@"
