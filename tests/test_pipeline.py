"""A miniature of the real pipeline (tiny iteration counts, the embedded real frames) through the
real DVC and MLflow: caching, re-running only what a param change touches, nested runs."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from ssl_mm.tracking import tracking_uri


def _dvc(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, DVC_NO_ANALYTICS='1', MPLBACKEND='Agg',
               PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    result = subprocess.run([str(Path(sys.executable).parent / 'dvc'), *args], cwd=root, env=env,
                            capture_output=True, text=True, timeout=1200)
    if ok:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope='module')
def mini_repo(repo, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('pipeline')
    shutil.copytree(repo / 'ssl_mm', root / 'ssl_mm', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(repo / 'configs', root / 'configs')
    shutil.copy(repo / 'dvc.yaml', root)
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['data']['vid4_gt'] = None  # the embedded clips only, for time
    params['train_dense']['iters'], params['sparsify']['iters'], params['finetune']['iters'] = 6, 8, 6
    params['sparsify'].update(step=0.05, update_interval=2, stabilize_iters=4)
    params['evaluate']['sets'] = ['embedded_bi', 'reds4']  # reds4: not on this machine
    (root / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(['git', 'init', '-q'], cwd=root, check=True)
    _dvc(root, 'init', '-q')
    return root


def _ran(result) -> set[str]:
    return {line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage '")}


AFTER_DENSE = {'sparsify@ssl', 'sparsify@assl', 'prune@ssl', 'prune@assl', 'prune@l1_norm', 'finetune@ssl',
               'finetune@ssl_tf', 'finetune@assl', 'finetune@l1_norm', 'train_lite', 'evaluate', 'report'}
FIGURES = {'psnr_vs_macs.png', 'speedup_vs_mac_ratio.png', 'kept_channels.png', 'scale_distribution.png',
           'training_curves.png'}


def test_pipeline_runs_caches_and_reruns_only_what_changed(mini_repo):
    first = _dvc(mini_repo, 'repro')
    assert _ran(first) == {'prepare_data', 'train_dense'} | AFTER_DENSE
    table = (mini_repo / 'reports' / 'paper_table.md').read_text()
    assert 'ASSL' in table and 'L1-norm' in table and 'not available' in table  # reds4 marked, not dropped
    assert {p.name for p in (mini_repo / 'reports' / 'figures').iterdir()} == FIGURES
    assert 'SSL' in (mini_repo / 'reports' / 'README.md').read_text()
    for method in ('ssl', 'assl', 'l1_norm'):
        assert (mini_repo / 'models' / method / 'pruned.py').is_file()
    # The same budget for all: L1-norm finetunes for sparsify + finetune iterations, lite for all three.
    finetune = json.loads((mini_repo / 'metrics' / 'finetune' / 'l1_norm.json').read_text())
    assert finetune['iters'] == 8 + 6
    assert json.loads((mini_repo / 'metrics' / 'train_lite.json').read_text())['iters'] == 6 + 8 + 6
    plots = _dvc(mini_repo, 'plots', 'show', '--json').stdout
    assert 'train_dense.csv' in plots and 'kept_channels.png' in plots

    start = time.perf_counter()
    again = _dvc(mini_repo, 'repro')
    assert _ran(again) == set() and time.perf_counter() - start < 10

    params = yaml.safe_load((mini_repo / 'params.yaml').read_text())
    params['prune']['ratio'] = 0.25
    (mini_repo / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    changed = _dvc(mini_repo, 'repro')
    assert _ran(changed) == AFTER_DENSE

    client = MlflowClient(tracking_uri(mini_repo))
    experiment = client.get_experiment_by_name('ssl-mm')
    runs = client.search_runs([experiment.experiment_id])
    parents = {r.info.run_id: r for r in runs if 'mlflow.parentRunId' not in r.data.tags}
    sparsify = [r for r in runs if r.data.tags.get('stage') == 'sparsify@ssl']
    assert len(parents) == 2 and all(r.info.status == 'FINISHED' for r in parents.values())
    assert sorted(r.data.tags['prune_ratio'] for r in sparsify) == ['0.25', '0.5']
    assert all(r.data.tags['mlflow.parentRunId'] in parents for r in sparsify)
    assert all(r.data.metrics['train_ssl_lambda'] > 0 for r in sparsify)
    prune_runs = [r for r in runs if r.data.tags.get('stage') == 'prune@ssl']
    assert sorted(round(r.data.metrics['kept_unit_fraction'], 2) for r in prune_runs) == [0.5, 0.75]


@pytest.mark.parametrize('mutate,message', [
    (lambda p: p['prune'].update(ratio=1.5), 'params.yaml: prune.ratio=1.5 is invalid: expected a number in (0, 1)'),
    (lambda p: p['sparsify'].update(criterion='L2'), "params.yaml: sparsify.criterion='L2' is invalid"),
    (lambda p: p['data'].update(prepared=None), 'params.yaml: data.prepared=None is invalid: expected a path'),
])
def test_bad_params_fail_in_one_line_and_keep_earlier_results(mini_repo, mutate, message):
    """Runs after the pipeline test (same module): the outputs of that run must survive."""
    kept = [mini_repo / 'models' / 'ssl' / 'sparsified.pth', mini_repo / 'metrics' / 'prune' / 'ssl.json',
            mini_repo / 'reports' / 'paper_table.md', mini_repo / 'models' / 'dense.pth']
    before = {path: path.read_bytes() for path in kept}
    good = (mini_repo / 'params.yaml').read_text()
    params = yaml.safe_load(good)
    mutate(params)
    (mini_repo / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        failed = _dvc(mini_repo, 'repro', ok=False)
    finally:
        (mini_repo / 'params.yaml').write_text(good)
    assert failed.returncode != 0
    errors = [line for line in (failed.stdout + failed.stderr).splitlines() if line.startswith('error: ')]
    assert errors and message in errors[0], errors
    assert 'Traceback' not in failed.stdout + failed.stderr
    assert {path: path.read_bytes() for path in kept} == before
