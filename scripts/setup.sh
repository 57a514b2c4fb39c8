#!/usr/bin/env bash
# Create/refresh .venv at the repository root with every pin of requirements.lock.
# A no-op (about a second) when nothing it depends on changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp=.venv/.ssl-mm-setup
want=$(cat requirements.lock pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
# The stamp is written only after the import check below passed; finding the packages (not
# importing torch and MMagic, ~5 s) is enough to tell the venv is still there.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c \
    'import importlib.util as u, sys; sys.exit(not all(map(u.find_spec, ["ssl_mm", "torch", "mmagic", "dvc"])))' 2>/dev/null; then
    exit 0
fi

echo "[setup] installing into .venv (first run: about 5 minutes)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# mmagic 1.2.0 declares dependencies that no longer resolve (numpy 2, new diffusers, mediapipe):
# install the working set first, then mmagic and scikit-video without their declared deps.
pip install -c requirements.lock -e '.[test]'
pip install --no-deps -c requirements.lock mmagic scikit-video
.venv/bin/python -c 'import ssl_mm.models, skvideo' 2>/dev/null \
    || { echo "[setup] import check failed: see the error above" >&2; .venv/bin/python -c 'import ssl_mm.models'; exit 1; }
echo "$want" > "$stamp"
echo "[setup] ready: .venv"
