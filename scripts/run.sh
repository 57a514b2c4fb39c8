#!/usr/bin/env bash
# Set up (if needed) and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DVC_NO_ANALYTICS=1 MPLBACKEND=Agg
exec .venv/bin/python -m ssl_mm.smoke "$@"
