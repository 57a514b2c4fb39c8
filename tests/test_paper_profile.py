"""The paper profile through every stage of the real DVC pipeline, on the CPU: SSL's 64-channel,
30-block x4 network trained on a REDS-layout fixture (270 clips x 100 frames, symlinks to a few
real frames; REDS4 smaller still). Only what costs time is shrunk, through params.yaml's
documented keys: iterations, `training` (clip length, patch), `evaluate.max_frames` and `speed`.
This is the path a GPU user runs: its configs, loaders and launcher fail here first."""
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_repo import dvc, make_repo, ran, stages_of
from mlflow.tracking import MlflowClient
from PIL import Image

from ssl_mm.data.degradations import imresize_matlab
from ssl_mm.data.sources import REDS4_CLIPS, REDS_ALL_CLIPS
from ssl_mm.tracking import tracking_uri

TRAIN_GT, REDS4_GT = 128, 64  # GT frame sides of the fixture's training and REDS4 clips


def make_reds(root, frames: np.ndarray):
    """REDS's layout (train_sharp/<clip>/%08d.png and train_sharp_bicubic/X4/<clip>/...): 270
    clips of 100 frames, each a symlink to one of ``len(frames)`` real frames cropped to
    TRAIN_GT (REDS4_GT for the REDS4 clips), their LR made with MATLAB's bicubic."""
    sources = {}
    for kind, side in (('train', TRAIN_GT), ('reds4', REDS4_GT)):
        for i, frame in enumerate(frames):
            gt = np.ascontiguousarray(frame[64:64 + side, 200:200 + side])
            for part, image in (('GT', gt), ('LR', imresize_matlab(gt, 1 / 4))):
                path = root / 'frames' / kind / part / f'{i}.png'
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path)
                sources[kind, part, i] = path
    for clip in REDS_ALL_CLIPS:
        kind = 'reds4' if clip in REDS4_CLIPS else 'train'
        for part, folder in (('GT', root / 'train_sharp' / clip), ('LR', root / 'train_sharp_bicubic' / 'X4' / clip)):
            folder.mkdir(parents=True)
            for t in range(100):
                (folder / f'{t:08d}.png').symlink_to(sources[kind, part, t % len(frames)])
    return root


@pytest.fixture(scope='module')
def paper_repo(tmp_path_factory, bikes_frames):
    reds = make_reds(tmp_path_factory.mktemp('REDS'), bikes_frames[:8])

    def edit(params):
        params['profile'] = 'paper'
        params['data'].update(reds=str(reds), vid4_gt=None, train_set='reds')
        params['training'].update(clip_frames=3, gt_patch=64)
        params['train_dense']['iters'], params['sparsify']['iters'], params['finetune']['iters'] = 2, 2, 2
        params['sparsify'].update(step=0.05, update_interval=1, stabilize_iters=1)
        params['prune']['ratios'], params['baselines']['ratios'], params['seeds'] = [], [0.5], [0]
        params['evaluate'].update(sets=['reds4'], max_frames=3)
        params['speed'].update(lr_size=[32, 32], frames=2, repeats=1)

    return make_repo(tmp_path_factory.mktemp('paper'), edit)


def test_paper_profile_runs_every_stage_on_a_reds_layout(paper_repo):
    params = yaml.safe_load((paper_repo / 'params.yaml').read_text())
    assert ran(dvc(paper_repo, 'repro', timeout=1500)) == {'prepare_data'} | stages_of(params)

    # The paper's network (SSL's 64/30/x4, ReLU as the released code), trained on REDS.
    dense = (paper_repo / 'models/dense/bi-seed0/dense.py').read_text()
    assert 'mid_channels=64' in dense and 'num_blocks=30' in dense and "type='ReLU'" in dense
    assert json.loads((paper_repo / 'metrics/train/dense/bi-seed0.json').read_text())['iters'] == 2
    prepared = (paper_repo / 'data/prepared/meta/meta_info_reds_train.txt').read_text().splitlines()
    assert len(prepared) == 266 and prepared[0] == f'001 100 ({TRAIN_GT},{TRAIN_GT},3)'

    # Every network scored on REDS4 under its protocol, on the first 3 frames as asked.
    per_set = pd.concat(pd.read_csv(p).assign(cell=p.parent.name) for p in paper_repo.glob('metrics/eval/*/*/per_set.csv'))
    assert set(per_set['method']) == {'bicubic', 'dense', 'ssl', 'ssl_sparsified', 'ssl_pruned', 'l1_norm', 'assl',
                                      'ssl_tf', 'lite'}
    assert (per_set['set'] == 'reds4').all() and per_set['psnr_rgb'].between(20, 60).all()
    clips = pd.read_csv(paper_repo / 'metrics/eval/dense/bi-seed0/per_clip.csv', dtype={'clip': str})
    assert sorted(clips.loc[clips['method'] == 'dense', 'clip']) == sorted(REDS4_CLIPS) and (clips['frames'] == 3).all()
    protocol = json.loads((paper_repo / 'metrics/eval/dense/bi-seed0/metrics.json').read_text())['protocols']['reds4']
    assert protocol['max_frames'] == 3 and protocol['psnr_on'] == ['RGB']

    # Pruned at ratio 0.5: fewer MACs (counted at 180x320), timed on the clip `speed` asked for.
    cost = json.loads((paper_repo / 'metrics/prune/ssl/bi-ratio0.5-seed0.json').read_text())
    assert cost['dense']['params_without_spynet'] == pytest.approx(4.85e6, rel=0.01)  # the paper: 4.9 M
    assert cost['mac_ratio'] > 1.5 and cost['dense']['lr_height'] == 180
    assert cost['timed_clip'] == {'lr_size': [32, 32], 'frames': 2, 'repeats': 1}
    table = pd.read_csv(paper_repo / 'reports' / 'paper_table.csv')
    assert len(table) == 9 and table['reds4'].str.fullmatch(r'\d\d\.\d\d / 0\.\d{4}').all()
    notes = (paper_repo / 'reports' / 'paper_table.md').read_text()
    assert 'Profile: paper' in notes and 'Only the first 3 frames of each clip were scored' in notes

    # The MLflow result runs say which profile and dataset they came from.
    client = MlflowClient(tracking_uri(paper_repo))
    runs = client.search_runs([client.get_experiment_by_name('ssl-mm').experiment_id])
    results = [r for r in runs if r.data.tags.get('kind') == 'result']
    assert len(results) == 6 and {r.data.params['profile'] for r in results} == {'paper'}
    assert {r.data.tags.get('dataset') for r in runs if r.data.tags.get('stage') == 'train_dense@bi'} == {'REDS'}
