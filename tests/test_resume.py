"""A training stage killed mid-run (SIGKILL, from outside) resumes from its last good
checkpoint, with the SSL penalty state, optimizer, scheduler and data order, and ends exactly
where an uninterrupted run ends; a truncated checkpoint is detected and the one before it used."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

TRAIN = r'''
import os, sys, time
from pathlib import Path
import torch
import ssl_mm
from mmengine.config import Config
from mmengine.hooks import Hook
from mmagic.registry import HOOKS
from ssl_mm.training.resume import run_training

@HOOKS.register_module()
class PauseForKill(Hook):
    """Stops inside iteration ``at`` (data loaded, no update yet) and waits to be killed."""
    def __init__(self, at, marker):
        self.at, self.marker = at, marker
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            Path(self.marker).write_text(str(os.getpid()))
            time.sleep(600)

torch.set_num_threads(1)
cfg = Config.fromfile(sys.argv[1])
if len(sys.argv) > 4:
    cfg.custom_hooks.append(dict(type='PauseForKill', at=int(sys.argv[4]), marker=sys.argv[5]))
runner = run_training(cfg, Path(sys.argv[2]))
torch.save(runner.model.generator.state_dict(), sys.argv[3])
'''

MAX_ITERS = 12


@pytest.fixture(scope='module')
def config_file(repo, frames_dataset, tmp_path_factory):
    cfg = Config.fromfile(str(repo / 'configs' / 'sparsify_default.py'))
    cfg.train_dataloader.dataset.data_root = str(frames_dataset)
    cfg.train_dataloader.dataset.data_prefix = dict(img='BDx4', gt='GT')
    cfg.train_dataloader.dataset.num_input_frames = 3
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = 4
    cfg.default_hooks.logger.interval = 2
    cfg.custom_hooks = [dict(type='SSLRegularizationHook', ratio=0.5, step=0.05, ceiling=0.2,
                             update_interval=2, stabilize_iters=MAX_ITERS, interval=2)]
    path = tmp_path_factory.mktemp('cfg') / 'sparsify_tiny.py'
    cfg.dump(str(path))
    return path


def _train(repo, *args, wait=True):
    cmd = [sys.executable, '-c', TRAIN, *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    result = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_killed_training_resumes_to_the_same_result(repo, config_file, tmp_path):
    _train(repo, config_file, tmp_path / 'straight', tmp_path / 'straight.pth')

    work, marker = tmp_path / 'killed', tmp_path / 'paused'
    proc = _train(repo, config_file, work, tmp_path / 'never.pth', 10, marker, wait=False)
    deadline = time.time() + 300
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # mid-iteration 11: checkpoints at 4 and 8 exist
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_4.pth', 'iter_8.pth']
    assert not (tmp_path / 'never.pth').exists()

    # And the newest checkpoint was damaged meanwhile (a copy cut short): it must not be used.
    newest = work / 'iter_8.pth'
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    resumed = _train(repo, config_file, work, tmp_path / 'resumed.pth')
    assert 'iter_8.pth: corrupt or truncated checkpoint' in resumed.stdout + resumed.stderr
    assert (work / 'iter_8.pth.corrupt').is_file()
    assert 'Advance dataloader 4 steps' in resumed.stdout + resumed.stderr  # resumed from iter_4

    straight = torch.load(tmp_path / 'straight.pth', weights_only=True)
    again = torch.load(tmp_path / 'resumed.pth', weights_only=True)
    assert straight.keys() == again.keys()
    worst = max((straight[k].float() - again[k].float()).abs().max().item() for k in straight)
    assert worst == 0.0, f'resumed run differs from the uninterrupted one by {worst}'
