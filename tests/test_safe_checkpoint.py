"""Opening a checkpoint a user names never runs its code (ssl_mm/safe_checkpoint.py): malicious
files built here (``os.system``, ``builtins.exec``, ``subprocess.Popen`` through ``__reduce__``;
inside ``model``, inside ``meta``, as the whole object) are refused by the loader and by every
command that opens a user's file, with the marker file they would create absent afterwards; an
attribute reached through ``getattr`` is never looked up; a checkpoint saved by mmengine's
CheckpointHook still loads."""
import builtins
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from crafted import Payload

from ssl_mm.errors import CheckpointError
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.models.foreign import read_foreign
from ssl_mm.pruning import load_network, save_network
from ssl_mm.safe_checkpoint import InertStandIn, load_checkpoint, tensors_only_copy

SSL_MM = Path(sys.executable).parent / 'ssl-mm'


def _malicious_files(root: Path, marker: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, the global its payload asks for, as pickle names it)."""
    weights = {'generator.conv_last.weight': torch.ones(3, 4, 3, 3)}
    payloads = {
        'os_system_in_model': ({'state_dict': weights, 'meta': {}, 'model': Payload(os.system, f'touch {marker}')},
                               'posix.system'),
        'exec_in_meta': ({'state_dict': weights, 'meta': {'hook': Payload(builtins.exec, f'open("{marker}", "w")')}},
                         'builtins.exec'),
        'popen_as_the_object': (Payload(subprocess.Popen, ['touch', str(marker)]), 'Popen'),
    }
    files = {}
    for name, (content, wanted) in payloads.items():
        torch.save(content, root / f'{name}.pth')
        files[name] = root / f'{name}.pth', wanted
    return files


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / 'pwned'
    yield _malicious_files(tmp_path, marker), marker
    assert not marker.exists(), 'a checkpoint ran its code'


def test_the_loader_refuses_every_payload_and_names_its_global(malicious):
    files, marker = malicious
    for path, wanted in files.values():
        with pytest.raises(CheckpointError, match=rf'{path.name}: refused: .*{wanted}') as err:
            load_checkpoint(path)
        assert '\n' not in str(err.value)
        with pytest.raises(CheckpointError, match='refused'):
            read_foreign(path)  # init_from
        with pytest.raises(CheckpointError, match='refused'):
            tensors_only_copy(path, path.parent / 'copies')  # spynet_pretrained
        assert not (path.parent / 'copies').exists()


def test_getattr_is_never_called(tmp_path):
    """mmengine pickles bound methods as ``getattr(obj, name)``, so getattr is allowed, as a stand-in:
    the attribute (here ``os.system`` reached from a class the file names) is never looked up."""
    path = tmp_path / 'getattr.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'m': Payload(getattr, torch.nn.Conv2d, 'forward')}},
               path)
    assert 'builtins.getattr' in torch.serialization.get_unsafe_globals_in_checkpoint(path)
    checkpoint = load_checkpoint(path)
    assert isinstance(checkpoint['meta']['m'], InertStandIn) and torch.equal(checkpoint['state_dict']['w'], torch.ones(1))


def test_an_mmengine_checkpoint_hook_file_loads_with_inert_metadata(tmp_path):
    """A checkpoint written by mmengine's CheckpointHook during a real (one-iteration) run: its
    message hub (HistoryBuffer, NumPy), optimizer and scheduler states and ``meta`` load; the
    network weights are exactly those trained."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Editor(BaseModel):
        def __init__(self):
            super().__init__()
            self.generator = SSLBasicVSRNet(4, 1, hr_channels=4)

        def forward(self, inputs, data_samples=None, mode='loss'):
            return {'loss': (self.generator.conv_last.weight ** 2).sum() + 0 * inputs.sum()}

    runner = Runner(model=Editor(), work_dir=str(tmp_path / 'run'), default_scope='mmagic',
                    train_dataloader=dict(dataset=[dict(inputs=torch.zeros(1))] * 2, batch_size=1,
                                          sampler=dict(type='InfiniteSampler'), collate_fn=dict(type='default_collate')),
                    optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
                    param_scheduler=dict(type='CosineAnnealingLR', T_max=1, by_epoch=False),
                    train_cfg=dict(by_epoch=False, max_iters=1),
                    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)))
    runner.train()
    path = tmp_path / 'run' / 'iter_1.pth'
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert any(g.startswith('mmengine.') for g in unsafe) and any(g.startswith('numpy') for g in unsafe)
    checkpoint = load_checkpoint(path)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(checkpoint)
    assert checkpoint['meta']['iter'] == 1
    assert any(isinstance(v, InertStandIn) for v in checkpoint['message_hub']['log_scalars'].values())
    state, origin, _ = read_foreign(path)
    assert origin == 'mmagic'
    trained = runner.model.generator.state_dict()
    assert state.keys() == trained.keys() and all(torch.equal(state[k], trained[k]) for k in trained)
    copy = tensors_only_copy(path, tmp_path / 'copies')
    assert torch.load(copy, weights_only=True)['state_dict'].keys() >= {f'generator.{k}' for k in trained}


def test_every_command_that_opens_a_users_file_refuses_it(malicious, tmp_path, bikes_frames):
    """ssl-mm import / infer / prune / export: exit 2, one line naming the file and the global,
    nothing written (the stages' init_from, spynet_pretrained and authors.checkpoints are in
    tests/test_foreign.py)."""
    import cv2
    files, marker = malicious
    cfg, _ = save_network(SSLBasicVSRNet(4, 1, hr_channels=4).eval(), tmp_path / 'net', 'net')
    frames = tmp_path / 'lr'
    frames.mkdir()
    for i in range(2):
        cv2.imwrite(str(frames / f'{i:08d}.png'), bikes_frames[i, :32, :32])
    out = tmp_path / 'out'

    def refused(*args, path, wanted):
        result = subprocess.run([str(SSL_MM), *map(str, args)], capture_output=True, text=True, timeout=600)
        lines = [line for line in result.stderr.splitlines() if line.startswith('error: ')]
        assert result.returncode == 2 and len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr[-2000:]
        assert f'{path.name}: refused' in lines[0] and wanted in lines[0], lines[0]

    for path, wanted in files.values():
        refused('import', path, '--out', out, path=path, wanted=wanted)
    path, wanted = files['os_system_in_model']
    refused('infer', cfg, path, frames, out, path=path, wanted=wanted)
    refused('prune', cfg, path, '--ratio', 0.5, '--out', out, path=path, wanted=wanted)
    refused('export', cfg, path, '--onnx', out / 'net.onnx', path=path, wanted=wanted)
    assert not out.exists()


def test_the_pipelines_own_networks_load_as_before(tmp_path):
    net = SSLBasicVSRNet(4, 1, hr_channels=4).eval()
    cfg, ckpt = save_network(net, tmp_path, 'dense', meta=dict(stage='train_dense', seed=0, activation='relu'))
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []  # tensors and plain types only
    again = load_network(cfg, ckpt)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    state, origin, activation = read_foreign(ckpt)  # a dense.pth of ssl-mm as train_dense.init_from
    assert (origin, activation) == ('ssl_mm', 'relu') and state.keys() == net.state_dict().keys()
