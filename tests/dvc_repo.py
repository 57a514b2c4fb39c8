"""A throwaway checkout of the pipeline (code, configs, dvc.yaml, a params.yaml the test edits)
driven through the real DVC CLI, and the stage names methods.py says a params.yaml runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ssl_mm.cells import STAGES, cells, dense_cells

REPO = Path(__file__).resolve().parents[1]
DVC = Path(sys.executable).parent / 'dvc'


def make_repo(root: Path, edit_params) -> Path:
    """ssl_mm, configs, the benchmark results the report quotes and dvc.yaml under ``root``, with
    the repository's params.yaml changed by ``edit_params(params)``; git and DVC initialised."""
    shutil.copytree(REPO / 'ssl_mm', root / 'ssl_mm', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(REPO / 'configs', root / 'configs')
    shutil.copytree(REPO / 'benchmarks' / 'results', root / 'benchmarks' / 'results')
    shutil.copy(REPO / 'dvc.yaml', root)
    shutil.copy(REPO / '.gitignore', root)
    params = yaml.safe_load((REPO / 'params.yaml').read_text())
    # Tests train their own few-iteration dense model and lite (the committed references are the
    # default run's starting points, references/README.md).
    params['train_dense'].update(iters=None, init_from=None)
    params['baselines']['lite_init_from'] = None
    edit_params(params)
    write_params(root, params)
    subprocess.run(['git', 'init', '-q'], cwd=root, check=True)
    dvc(root, 'init', '-q')
    return root


def write_params(root: Path, params: dict) -> None:
    (root / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))


def dvc(root: Path, *args: str, ok: bool = True, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = dict(os.environ, DVC_NO_ANALYTICS='1', MPLBACKEND='Agg',
               PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    result = subprocess.run([str(DVC), *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    if ok:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def ran(result: subprocess.CompletedProcess) -> set[str]:
    """The stages a ``dvc repro`` ran, report excluded."""
    return {line.split("'")[1] for line in result.stdout.splitlines()
            if line.startswith("Running stage '")} - {'report'}


def stages_of(params: dict, keep=lambda cell: True) -> set[str]:
    """The stage names methods.py says the cells of ``params`` run (report excluded)."""
    names = set()
    for stage, methods in STAGES.items():
        for cell in cells(params, [m for m in methods if m != 'dense']) + (
                dense_cells(params) if 'dense' in methods else []):
            if keep(cell):
                names.add(cell.stage_name(stage))
    return names
