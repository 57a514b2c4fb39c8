"""dvc.yaml and ssl_mm/cells.py name the same cells and the same files: every stage of
every (method, ratio, seed) cell exists in dvc.yaml under cells.py's name, with exactly the
outputs cells.py says it writes and the inputs it says it reads (so dvc.yaml's per-method vars
are checked both ways), and dvc.yaml has no other stage."""
import shutil
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from ssl_mm.cells import STAGES, authors_models, cells, dense_cells

OTHER_STAGES = {'prepare_data', 'report'}
ARTIFACTS = ('models/', 'metrics/')  # what stages make (data/prepared and code aside)


def _stages(root: Path, params: dict) -> dict[str, tuple[set[str], set[str]]]:
    """Each stage's (outputs, deps made by other stages: models/ and metrics/), resolved by DVC."""
    (root / 'params.yaml').write_text(yaml.safe_dump(params))
    with Repo(str(root)) as repo:
        return {stage.name: ({str(out.def_path) for out in stage.outs},
                             {str(dep.def_path) for dep in stage.deps if str(dep.def_path).startswith(ARTIFACTS)})
                for stage in repo.index.stages}


@pytest.fixture
def dvc_root(repo, tmp_path):
    shutil.copy(repo / 'dvc.yaml', tmp_path)
    (tmp_path / '.dvc').mkdir()
    (tmp_path / '.dvc' / 'config').write_text('[core]\n    no_scm = true\n    analytics = false\n')
    return tmp_path


@pytest.mark.parametrize('ratios,other_seeds,baselines,seeds,degradations,authors', [
    ([0.25, 0.75], [0], [0.5], [0, 1, 2], ['bi'], {}),
    ([0.1, 0.9], [4], [0.3, 0.6], [1, 4], ['bi', 'bd'], {'reds': {'path': 'ckpt/reds.pt', 'degradation': 'bi'},
                                                            'vimeo_bd': {'path': 'ckpt/vimeo_bd.pt', 'degradation': 'bd'}})])
def test_dvc_yaml_declares_every_cell_with_the_files_cells_py_names(repo, dvc_root, ratios, other_seeds, baselines,
                                                                         seeds, degradations, authors):
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['prune']['ratios'], params['baselines']['ratios'], params['seeds'] = ratios, baselines, seeds
    params['other_seeds'] = other_seeds
    params['data']['degradations'] = degradations
    params['authors']['checkpoints'] = authors
    declared = _stages(dvc_root, params)
    expected = {}
    for stage, methods in STAGES.items():
        for cell in cells(params, [m for m in methods if m != 'dense']) + (
                dense_cells(params) if 'dense' in methods else []):
            expected[cell.stage_name(stage)] = ({str(p) for p in cell.outputs(stage)},
                                                {str(p) for p in cell.inputs(stage)})
    for model in authors_models(params):  # the authors' checkpoints params.yaml names, one stage each
        expected[model.stage_name()] = ({str(p) for p in model.outputs()}, set())
    assert set(declared) - OTHER_STAGES == set(expected)
    for name, (outs, ins) in expected.items():
        assert declared[name][0] == outs, f'{name}: outputs'
        assert declared[name][1] == ins, f'{name}: inputs'


def test_a_new_ratio_adds_cells_and_changes_no_existing_one(repo, dvc_root):
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    before = _stages(dvc_root, params)
    params['prune']['ratios'] = [*params['prune']['ratios'], 0.9]
    after = _stages(dvc_root, params)
    added = set(after) - set(before)
    assert added and all('-0.9-' in name for name in added) and set(before) <= set(after)
    with Repo(str(dvc_root)) as repo_:
        cmds = {s.name: s.cmd for s in repo_.index.stages}
    assert cmds['evaluate_ssl_curve@bi-0.9-0'] == 'python -m ssl_mm.stages.evaluate ssl --ratio 0.9 --seed 0 --degradation bi'
    # BD models: every cell again, on BD LR, beside the BI ones.
    params['data']['degradations'] = ['bi', 'bd']
    with_bd = _stages(dvc_root, params)
    assert set(after) <= set(with_bd) and {n.replace('@bd', '@bi') for n in set(with_bd) - set(after)} == set(after) - OTHER_STAGES


def test_dvc_lock_records_only_stages_dvc_yaml_declares(repo):
    """DVC never drops a lock entry whose stage left dvc.yaml (a renamed cell, a removed ratio);
    stale entries only make every stage's lock rewrite slower (it is parsed and dumped per stage)."""
    with Repo(str(repo)) as dvc_repo:
        declared = {stage.name for stage in dvc_repo.index.stages}
    locked = set(yaml.safe_load((repo / 'dvc.lock').read_text())['stages'])
    assert locked <= declared, sorted(locked - declared)[:5]
