"""A miniature of the real pipeline (tiny iteration counts, the embedded real frames) through the
real DVC and MLflow: caching, a new ratio or seed running only its cells, result runs per cell,
sharing through a DVC remote."""
import json
import shutil
import subprocess
import time
from pathlib import Path

import mlflow.pytorch
import pandas as pd
import pytest
import torch
import yaml
from dvc_repo import dvc, make_repo, ran, stages_of, write_params
from mlflow.tracking import MlflowClient

from ssl_mm.cells import cells
from ssl_mm.models.foreign import trained_iterations
from ssl_mm.pruning import load_network
from ssl_mm.tracking import tracking_uri


@pytest.fixture(scope='module')
def mini_repo(tmp_path_factory) -> Path:
    def edit(params):
        params['data']['vid4_gt'] = None  # the embedded clips only, for time
        params['train_dense']['iters'], params['sparsify']['iters'], params['finetune']['iters'] = 6, 8, 6
        params['sparsify'].update(step=0.05, update_interval=2, stabilize_iters=4)
        params['evaluate']['sets'] = ['embedded_bi', 'reds4']  # reds4: not on this machine
        params['prune']['ratios'], params['baselines']['ratios'] = [], [0.5]  # the comparison only
        params['seeds'] = params['other_seeds'] = [0]

    return make_repo(tmp_path_factory.mktemp('pipeline'), edit)


FIGURES = {'psnr_vs_macs.png', 'psnr_vs_ratio.png', 'speedup_vs_mac_ratio.png', 'kept_channels.png',
           'scale_distribution.png', 'training_curves.png', 'visual_embedded.png'}  # no Vid4 in the miniature


def test_pipeline_runs_caches_and_reruns_only_new_cells(mini_repo, tmp_path, real_lr_clip):
    params = yaml.safe_load((mini_repo / 'params.yaml').read_text())
    first = dvc(mini_repo, 'repro')
    assert ran(first) == {'prepare_data'} | stages_of(params)
    table = (mini_repo / 'reports' / 'paper_table.md').read_text()
    assert 'ASSL' in table and 'L1-norm' in table and 'not available' in table  # reds4 marked, not dropped
    assert 'SSL, sparsified (before the cut)' in table and 'SSL, pruned, before finetuning' in table
    assert {p.name for p in (mini_repo / 'reports' / 'figures').iterdir()} == FIGURES
    assert 'SSL' in (mini_repo / 'reports' / 'README.md').read_text()
    # The same budget for all: L1-norm finetunes for sparsify + finetune iterations, lite for all three.
    assert json.loads((mini_repo / 'metrics/finetune/l1_norm/bi-ratio0.5-seed0.json').read_text())['iters'] == 8 + 6
    lite = json.loads((mini_repo / 'metrics/train/lite/bi-ratio0.5-seed0.json').read_text())
    assert lite['iters'] == 6 + 8 + 6 and lite['budget'] == {'dense': 6, 'sparsify': 8, 'finetune': 6}
    assert trained_iterations(mini_repo / 'models/dense/bi-seed0/dense.pth') == 6  # what init_from of it would add
    assert ('Here: the dense model 6 iterations (from scratch); sparsify 8 + finetune 6; BasicVSR-lite 20 '
            'iterations (from scratch).') in table
    plots = dvc(mini_repo, 'plots', 'show', '--json').stdout
    assert 'seed0.csv' in plots and 'kept_channels.png' in plots

    start = time.perf_counter()
    again = dvc(mini_repo, 'repro')
    assert ran(again) == set() and time.perf_counter() - start < 30

    # A ratio on the curve runs only its cells (SSL and L1-norm, the curve methods, named ..._curve);
    # a new seed, only its own: of the spread (SSL, L1-norm, lite at 0.5), or of every other cell.
    params['prune']['ratios'] = [0.25]
    write_params(mini_repo, params)
    changed = dvc(mini_repo, 'repro')
    assert ran(changed) == stages_of(params, lambda cell: cell.ratio == 0.25)
    assert ran(changed) == {f'{stage}_{method}_curve@bi-0.25-0' for stage, method in [
        ('sparsify', 'ssl'), ('prune', 'ssl'), ('prune', 'l1_norm'), ('finetune', 'ssl'), ('finetune', 'l1_norm'),
        ('evaluate', 'ssl'), ('evaluate', 'l1_norm')]}
    rows = pd.read_csv(mini_repo / 'reports' / 'paper_table.csv')
    assert sorted(rows.loc[rows['method'] == 'SSL', 'prune ratio']) == [0.25, 0.5]
    assert sorted(rows.loc[rows['method'] == 'L1-norm (per layer)', 'prune ratio']) == [0.25, 0.5]
    params['seeds'] = [0, 1]
    write_params(mini_repo, params)
    stale = set(json.loads(dvc(mini_repo, 'status', '--json').stdout)) - {'report'}
    assert stale == stages_of(params, lambda cell: cell.seed == 1)  # what `dvc repro` would run
    assert {(c.method, c.ratio) for c in cells(params) if c.seed == 1} == {('ssl', 0.5), ('l1_norm', 0.5), ('lite', 0.5)}
    params['other_seeds'] = [0, 1]
    write_params(mini_repo, params)
    stale = set(json.loads(dvc(mini_repo, 'status', '--json').stdout)) - {'report'}
    assert stale == stages_of(params, lambda cell: cell.seed == 1)
    assert {(c.method, c.ratio) for c in cells(params) if c.seed == 1 and c.method != 'dense'} == {
        ('ssl', 0.5), ('l1_norm', 0.5), ('lite', 0.5), ('assl', 0.5), ('ssl_tf', 0.5), ('ssl', 0.25), ('l1_norm', 0.25)}
    params['seeds'] = params['other_seeds'] = [0]
    write_params(mini_repo, params)

    # One MLflow result run per cell, with the cell as params and flat metric names.
    client = MlflowClient(tracking_uri(mini_repo))
    experiment = client.get_experiment_by_name('ssl-mm')
    runs = client.search_runs([experiment.experiment_id])
    parents = {r.info.run_id for r in runs if 'mlflow.parentRunId' not in r.data.tags}
    assert len(parents) == 2
    results = client.search_runs([experiment.experiment_id], "params.method = 'ssl'")
    assert sorted(r.data.params['prune_ratio'] for r in results) == ['0.25', '0.5']
    for run in results:
        assert run.data.tags['mlflow.parentRunId'] in parents
        assert {'seed', 'lambda_tf', 'profile'} <= set(run.data.params)
        assert {'embedded_bi_psnr_y', 'embedded_bi_ssim_y', 'gmacs', 'gmacs_without_spynet', 'params_m',
                'mac_ratio', 'cpu_speedup'} <= set(run.data.metrics)
    sparsify = [r for r in runs if r.data.tags.get('stage', '').startswith('sparsify_ssl')]
    assert sorted(r.data.tags['prune_ratio'] for r in sparsify) == ['0.25', '0.5']
    # Each result run carries its networks as MLflow Models, equal to the DVC-tracked ones.
    [ssl_run] = [r for r in results if r.data.params['prune_ratio'] == '0.5']
    mlflow.set_tracking_uri(tracking_uri(mini_repo))
    for name, kind in [('model', 'finetuned'), ('ssl_sparsified', 'sparsified')]:
        logged = mlflow.pytorch.load_model(f'runs:/{ssl_run.info.run_id}/{name}')
        stem = mini_repo / 'models/ssl/bi-ratio0.5-seed0' / kind
        with torch.no_grad():
            assert torch.equal(logged(real_lr_clip), load_network(f'{stem}.py', f'{stem}.pth').eval()(real_lr_clip))
    # tracking.log_models: false changes no result (nothing reruns); a result run then logs no network.
    params['tracking']['log_models'] = False
    write_params(mini_repo, params)
    assert set(json.loads(dvc(mini_repo, 'status', '--json').stdout)) <= {'report'}
    dvc(mini_repo, 'repro', '-f', '-s', 'evaluate_l1_norm@bi-0.5-0')
    [newest, *_] = client.search_runs([experiment.experiment_id], "params.method = 'l1_norm'",
                                      order_by=['attributes.start_time DESC'])
    assert newest.info.status == 'FINISHED' and not client.search_logged_models(
        experiment_ids=[experiment.experiment_id], filter_string=f"source_run_id = '{newest.info.run_id}'")
    params['tracking']['log_models'] = True
    write_params(mini_repo, params)

    # BasicVSR-lite from a checkpoint (as the default starts from the committed one): it trains only
    # the rest of its budget, and the table says how the budget was spent.
    shutil.copy(mini_repo / 'models/lite/bi-ratio0.5-seed0/trained.pth', tmp_path / 'lite.pth')
    params['baselines'].update(lite_init_from=str(tmp_path / 'lite.pth'), lite_iters=26)
    write_params(mini_repo, params)
    assert ran(dvc(mini_repo, 'repro', 'report')) == {'train_lite@bi-0.5-0', 'evaluate_lite@bi-0.5-0'}
    lite = json.loads((mini_repo / 'metrics/train/lite/bi-ratio0.5-seed0.json').read_text())
    assert (lite['iters'], lite['trained_iters'], lite['init_trained_iters']) == (6, 26, 20)
    assert trained_iterations(mini_repo / 'models/lite/bi-ratio0.5-seed0/trained.pth') == 26
    assert (f"BasicVSR-lite 26 iterations (20 in {tmp_path / 'lite.pth'}, 6 in this run), NOT its fair budget of 20 "
            '(6 + 8 + 6).') in (mini_repo / 'reports' / 'paper_table.md').read_text()
    params['baselines'].update(lite_init_from=None, lite_iters=None)
    write_params(mini_repo, params)
    dvc(mini_repo, 'repro')  # lite from scratch again (persistent outputs: no run cache)

    # A team shares results through a DVC remote: a second clone pulls them and has nothing to run.
    remote, clone = tmp_path / 'remote', tmp_path / 'clone'
    dvc(mini_repo, 'remote', 'add', '-d', 'team', str(remote))
    dvc(mini_repo, 'push')
    subprocess.run(['git', 'add', '-A'], cwd=mini_repo, check=True)
    subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'results'], cwd=mini_repo,
                   check=True)
    subprocess.run(['git', 'clone', '-q', str(mini_repo), str(clone)], check=True)
    dvc(clone, 'pull')
    assert (clone / 'models' / 'ssl' / 'bi-ratio0.25-seed0' / 'finetuned.pth').is_file()
    assert ran(dvc(clone, 'repro')) == set()

    # BD models: `data.degradations: [bi, bd]` adds every cell on BD LR and leaves the BI ones be.
    good = (mini_repo / 'params.yaml').read_text()
    params['data']['degradations'] = ['bi', 'bd']
    params['evaluate']['sets'] = ['embedded_bi', 'reds4', 'embedded_bd']
    write_params(mini_repo, params)
    try:
        stale = set(json.loads(dvc(mini_repo, 'status', '--json').stdout)) - {'report'}
        bd = stages_of(params, lambda cell: cell.degradation == 'bd')
        assert bd <= stale and all('@bi' in name and name.startswith('evaluate_') for name in stale - bd)
        assert ran(dvc(mini_repo, 'repro', 'evaluate_dense@bd')) == {'train_dense@bd', 'evaluate_dense@bd'}
    finally:
        (mini_repo / 'params.yaml').write_text(good)
    scores = json.loads((mini_repo / 'metrics/eval/dense/bd-seed0/metrics.json').read_text())
    assert set(scores['dense']) == set(scores['bicubic']) == {'embedded_bd'}  # a BD model meets BD LR only
    bi_scores = json.loads((mini_repo / 'metrics/eval/dense/bi-seed0/metrics.json').read_text())
    assert scores['bicubic']['embedded_bd']['psnr_y'] < bi_scores['bicubic']['embedded_bi']['psnr_y'] - 1  # blurred
    [run] = client.search_runs([experiment.experiment_id], "tags.stage = 'train_dense@bd'")
    assert "img='BDx4'" in Path(client.download_artifacts(run.info.run_id, 'config.py', str(tmp_path))).read_text()


@pytest.mark.parametrize('mutate,message', [
    (lambda p: p['prune'].update(ratios=[1.5]), 'params.yaml: prune.ratios=[1.5] is invalid: expected a list of distinct'),
    (lambda p: p['sparsify'].update(criterion='L2'), "params.yaml: sparsify.criterion='L2' is invalid"),
    (lambda p: p['data'].update(prepared=None), 'params.yaml: data.prepared=None is invalid: expected a path'),
])
def test_bad_params_fail_in_one_line_and_keep_earlier_results(mini_repo, mutate, message):
    """Runs after the pipeline test (same module): the outputs of that run must survive."""
    kept = [mini_repo / 'models/ssl/bi-ratio0.5-seed0/sparsified.pth', mini_repo / 'metrics/prune/ssl/bi-ratio0.5-seed0.json',
            mini_repo / 'reports' / 'paper_table.md', mini_repo / 'models/dense/bi-seed0/dense.pth']
    before = {path: path.read_bytes() for path in kept}
    good = (mini_repo / 'params.yaml').read_text()
    params = yaml.safe_load(good)
    mutate(params)
    (mini_repo / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        failed = dvc(mini_repo, 'repro', ok=False)
    finally:
        (mini_repo / 'params.yaml').write_text(good)
    assert failed.returncode != 0
    errors = [line for line in (failed.stdout + failed.stderr).splitlines() if line.startswith('error: ')]
    assert errors and message in errors[0], errors
    assert 'Traceback' not in failed.stdout + failed.stderr
    assert {path: path.read_bytes() for path in kept} == before


@pytest.mark.parametrize('module,stale', [
    ('ssl_mm/reports/figures.py', lambda params: {'report'}),  # a figure's code re-runs the report alone
    # prepare_data, and the stages that import it (the test sets' loaders); what follows prepare_data
    # reruns only if data/prepared changes
    ('ssl_mm/data/prepare.py', lambda params: {'prepare_data', 'report'} | {
        name for name in stages_of(params) if name.startswith('evaluate_')}),
])
def test_an_edit_marks_only_the_stages_that_import_it(mini_repo, module, stale):
    """Runs after the pipeline test (same module), when nothing is stale: ``dvc status`` after an
    edit to one module lists the stages whose deps reach it, as tests/test_dvc_deps.py derives them."""
    params = yaml.safe_load((mini_repo / 'params.yaml').read_text())
    dvc(mini_repo, 'commit', '--force')  # the workspace as it is (the BD cells above left the report behind)
    assert json.loads(dvc(mini_repo, 'status', '--json').stdout) == {}
    path = mini_repo / module
    source = path.read_text()
    path.write_text(source + '\n# an edit\n')
    try:
        assert set(json.loads(dvc(mini_repo, 'status', '--json').stdout)) == stale(params)
    finally:
        path.write_text(source)
