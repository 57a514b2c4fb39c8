"""A real training stage under ``torch.distributed.run`` with two CPU processes (gloo): it equals
one process with the same global batch, and only rank 0 writes the model, metrics and MLflow run.

The data is made deterministic so that the two runs see the same pixels: clips exactly as long
as a sample (one possible start frame) and as large as a patch (one possible crop), no flips.
The samplers then split each global batch between the ranks, and DDP averages their gradients.
"""
import os
import shutil
import subprocess
import sys

import torch
import yaml
from mlflow.tracking import MlflowClient

from ssl_mm.data import write_frames_dataset
from ssl_mm.tracking import tracking_uri

ITERS = 3
# Measured (2-core AVX-512 machine): the two runs' weights differ by 1.4e-9 on average and 3.9e-5
# at most: gradients summed in another order differ in the last bits, and Adam turns a ~0
# gradient's sign into a step of the whole learning rate. One process with half the global batch
# is ~1e-5 away on average.
MEAN_TOLERANCE, MAX_TOLERANCE = 1e-7, 1e-4


def _repo(repo, tmp_path, bikes_frames, name: str, per_process_batch: int):
    root = tmp_path / name
    shutil.copytree(repo / 'ssl_mm', root / 'ssl_mm', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(repo / 'configs', root / 'configs')
    crops = {'000': bikes_frames[:5, 0:128, 0:128], '001': bikes_frames[:5, 100:228, 300:428]}
    write_frames_dataset(root / 'prepared' / 'embedded', crops, ann_file='meta_info_train.txt')
    (root / 'configs' / 'train_dense_default.py').rename(root / 'configs' / 'train_dense_shipped.py')
    (root / 'configs' / 'train_dense_default.py').write_text(
        "_base_ = ['./train_dense_shipped.py']\n"
        "train_pipeline = [\n"
        "    dict(type='GenerateSegmentIndices', interval_list=[1]),\n"
        "    dict(type='LoadDecodedFrameCached', key='img', channel_order='rgb'),\n"
        "    dict(type='LoadDecodedFrameCached', key='gt', channel_order='rgb'),\n"
        "    dict(type='SetValues', dictionary=dict(scale=4)),\n"
        "    dict(type='PairedRandomCrop', gt_patch_size=128),\n"
        "    dict(type='PackInputs')]\n"
        f"train_dataloader = dict(batch_size={per_process_batch}, dataset=dict(pipeline=train_pipeline))\n")
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['data'].update(prepared=str(root / 'prepared'), vid4_gt=None)
    params['train_dense'].update(iters=ITERS, init_from=None)  # a dense model trained here
    (root / 'params.yaml').write_text(yaml.safe_dump(params))
    return root


def _run(root, *launcher):
    env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    result = subprocess.run([sys.executable, *launcher, '-m', 'ssl_mm.stages.train_dense', 'dense', '--seed', '0'],
                            cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return torch.load(root / 'models' / 'dense' / 'bi-seed0' / 'dense.pth', map_location='cpu', weights_only=True)


def _diffs(a: dict, b: dict) -> tuple[float, float]:
    """Mean and max absolute difference over all weights of two saved networks."""
    diff = torch.cat([(a['state_dict'][k].float() - v.float()).abs().flatten() for k, v in b['state_dict'].items()])
    return float(diff.mean()), float(diff.max())


def test_two_cpu_processes_equal_one_with_the_same_global_batch(repo, tmp_path, bikes_frames):
    single = _run(_repo(repo, tmp_path, bikes_frames, 'single', per_process_batch=2))
    root = _repo(repo, tmp_path, bikes_frames, 'ddp', per_process_batch=1)
    ddp = _run(root, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29517')
    mean, worst = _diffs(single, ddp)
    print(f'2 processes vs 1: mean {mean:.2e}, max {worst:.2e}')
    assert mean <= MEAN_TOLERANCE and worst <= MAX_TOLERANCE
    # Half the global batch (one process alone) trains to other weights: the equality above is
    # the gradient averaging at work, not training that changes nothing.
    half = _run(_repo(repo, tmp_path, bikes_frames, 'half', per_process_batch=1))
    print(f'half the batch vs 1: mean {_diffs(single, half)[0]:.2e}')
    assert _diffs(single, half)[0] > 100 * MEAN_TOLERANCE
    # Rank 0 alone tracks: one MLflow run for the stage, not one per process.
    client = MlflowClient(tracking_uri(root))
    runs = client.search_runs([client.get_experiment_by_name('ssl-mm').experiment_id])
    assert [r.data.tags.get('stage') for r in runs if r.data.tags.get('stage', '').startswith('train')] == ['train_dense@bi']
