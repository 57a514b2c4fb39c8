"""The ``ssl-mm`` console script end to end (real subprocesses, a real embedded clip), the MMagic
and ONNX exports against PyTorch, and the one-line errors for bad input."""
import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from ssl_mm.data import embedded_clip_path
from ssl_mm.data.video import read_video
from ssl_mm.flops import complexity
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.pruning import load_network, save_network

SSL_MM = Path(sys.executable).parent / 'ssl-mm'


def _cli(*args, ok=True):
    result = subprocess.run([str(SSL_MM), *map(str, args)], capture_output=True, text=True, timeout=900)
    if ok:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def _user_error(result, *fragments):
    """Exit 2 and exactly one line on stderr (no traceback) holding every fragment."""
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope='module')
def network(tmp_path_factory):
    """A small trained-looking SSL network (distinct scales) saved as the pipeline saves one."""
    torch.manual_seed(0)
    net = SSLBasicVSRNet(8, 2, hr_channels=8)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if 'act_scale' in name:
                p.uniform_(0.05, 1.0)
    return save_network(net.eval(), tmp_path_factory.mktemp('net'), 'sparsified')


@pytest.fixture(scope='module')
def mmagic_basicvsr(tmp_path_factory):
    """An MMagic BasicVSR (stock ``BasicVSRNet`` generator) config + checkpoint."""
    from mmagic.models.editors.basicvsr.basicvsr_net import BasicVSRNet
    torch.manual_seed(1)
    net = BasicVSRNet(mid_channels=8, num_blocks=2)
    root = tmp_path_factory.mktemp('mmagic')
    cfg = Config(dict(model=dict(type='BasicVSR', generator=dict(type='BasicVSRNet', mid_channels=8, num_blocks=2),
                                 pixel_loss=dict(type='CharbonnierLoss'))))
    cfg.dump(str(root / 'basicvsr.py'))
    save_checkpoint({'state_dict': {f'generator.{k}': v for k, v in net.state_dict().items()}}, str(root / 'basicvsr.pth'))
    return root / 'basicvsr.py', root / 'basicvsr.pth', net


def test_help_explains_each_command():
    text = _cli('--help').stdout
    for command in ('infer', 'flops', 'prune', 'export'):
        assert command in text
    assert '--max-seq-len' in _cli('infer', '--help').stdout


def test_infer_upscales_an_embedded_clip_to_mp4_and_frames(network, tmp_path):
    cfg, ckpt = network
    clip = embedded_clip_path('carphone_pristine')  # 120 frames, 176x144
    out = _cli('infer', cfg, ckpt, clip, tmp_path / 'sr.mp4', '--max-seq-len', 40)
    assert '120/120' in out.stderr and 'frame' in out.stderr  # the progress bar
    reader = imageio_ffmpeg.read_frames(str(tmp_path / 'sr.mp4'))
    meta = next(reader)
    assert tuple(meta['size']) == (176 * 4, 144 * 4) and sum(1 for _ in reader) == 120
    # A frame folder works too; chunking by --max-seq-len runs the network on each chunk.
    lr_dir = tmp_path / 'lr'
    lr_dir.mkdir()
    frames = [f for _, f in zip(range(6), imageio_ffmpeg.read_frames(str(clip), pix_fmt='rgb24'))][1:]
    lr = np.stack([np.frombuffer(f, np.uint8).reshape(144, 176, 3) for f in frames])
    for i, frame in enumerate(lr):
        cv2.imwrite(str(lr_dir / f'{i:08d}.png'), frame[:, :, ::-1])
    _cli('infer', cfg, ckpt, lr_dir, tmp_path / 'sr_frames', '--max-seq-len', 3)
    written = np.stack([cv2.imread(str(tmp_path / 'sr_frames' / f'{i:08d}.png'))[:, :, ::-1] for i in range(5)])
    net = load_network(cfg, ckpt).eval()
    with torch.no_grad():
        x = torch.from_numpy(lr).permute(0, 3, 1, 2).float().div(255)[None]
        expected = torch.cat([net(x[:, :3]), net(x[:, 3:])], dim=1)[0].clamp(0, 1)
    expected = np.round(expected.permute(0, 2, 3, 1).numpy() * 255)
    assert np.abs(written.astype(float) - expected).max() <= 1
    # ONNX Runtime: the same chunks, one exported graph per chunk shape (3 frames, then 2), kept in
    # --onnx-dir and reused; frames within one level of PyTorch's.
    onnx_dir = tmp_path / 'onnx'
    out = _cli('infer', cfg, ckpt, lr_dir, tmp_path / 'sr_ort', '--max-seq-len', 3, '--engine', 'onnxruntime',
               '--onnx-dir', onnx_dir)
    assert '5/5' in out.stderr
    graphs = sorted(p.name for p in onnx_dir.glob('*.onnx'))
    assert len(graphs) == 2 and graphs[0].endswith('_frames2_144x176.onnx') and graphs[1].endswith('_frames3_144x176.onnx')
    by_ort = np.stack([cv2.imread(str(tmp_path / 'sr_ort' / f'{i:08d}.png'))[:, :, ::-1] for i in range(5)])
    assert np.abs(by_ort.astype(float) - written).max() <= 1
    mtimes = [p.stat().st_mtime_ns for p in onnx_dir.glob('*.onnx')]
    _cli('infer', cfg, ckpt, lr_dir, tmp_path / 'sr_ort2', '--max-seq-len', 3, '--engine', 'onnxruntime',
         '--onnx-dir', onnx_dir)
    assert [p.stat().st_mtime_ns for p in onnx_dir.glob('*.onnx')] == mtimes  # reused, not exported again
    # torch.compile: the per-frame parts compiled (inductor), the same frames within one level.
    _cli('infer', cfg, ckpt, lr_dir, tmp_path / 'sr_compiled', '--max-seq-len', 3, '--engine', 'compile')
    by_compile = np.stack([cv2.imread(str(tmp_path / 'sr_compiled' / f'{i:08d}.png'))[:, :, ::-1] for i in range(5)])
    assert np.abs(by_compile.astype(float) - written).max() <= 1


def test_flops_prints_the_library_count(network):
    cfg, _ = network
    text = _cli('flops', cfg).stdout
    total = complexity(load_network(*network))['macs_total'] / 1e9
    assert f'{total:12.3f} GMACs' in text and '180x320' in text


def test_prune_an_mmagic_basicvsr_and_load_it_with_mmagic(mmagic_basicvsr, tmp_path, real_lr_clip):
    from mmagic.apis import init_model
    cfg, ckpt, stock = mmagic_basicvsr
    _cli('prune', cfg, ckpt, '--ratio', 0.5, '--criterion', 'l1', '--out', tmp_path, '--name', 'small')
    compact = load_network(tmp_path / 'small.py', tmp_path / 'small.pth').eval()
    assert sum(p.numel() for p in compact.parameters()) < sum(p.numel() for p in stock.parameters())
    editor = init_model(str(tmp_path / 'small_mmagic.py'), str(tmp_path / 'small.pth'), device='cpu')
    with torch.no_grad():
        ours = compact(real_lr_clip)
        theirs = editor(inputs=real_lr_clip, mode='tensor')  # as MMagic's VideoRestorationInferencer calls it
    assert type(editor).__name__ == 'BasicVSR'
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_onnx_export_matches_pytorch(network, tmp_path):
    import onnxruntime
    _cli('export', *network, '--onnx', tmp_path / 'net.onnx', '--frames', 3, '--lr-size', 32, 48)
    net = load_network(*network).eval()
    clip = torch.rand(1, 3, 3, 32, 48)
    session = onnxruntime.InferenceSession(str(tmp_path / 'net.onnx'), providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = net(clip).numpy()
    assert np.abs(session.run(['sr'], {'lr': clip.numpy()})[0] - expected).max() <= 1e-4


def test_bad_input_gets_one_line_and_writes_nothing(network, tmp_path, bikes_frames):
    cfg, ckpt = network
    out = tmp_path / 'out'
    _user_error(_cli('infer', cfg, ckpt, tmp_path / 'missing.mp4', out, ok=False), 'missing.mp4', 'not a frame folder')
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(embedded_clip_path('carphone_pristine').read_bytes()[:3000])  # a download cut short
    _user_error(_cli('infer', cfg, ckpt, cut, out, ok=False), 'cut.mp4: cannot decode this video')
    broken = tmp_path / 'broken'
    broken.mkdir()
    for i in range(3):
        cv2.imwrite(str(broken / f'{i:08d}.png'), bikes_frames[i, :64, :64])
    (broken / '00000001.png').write_bytes((broken / '00000001.png').read_bytes()[:100])  # truncated
    _user_error(_cli('infer', cfg, ckpt, broken, out, ok=False), '00000001.png', 'corrupt or truncated')
    (broken / '00000001.png').unlink()
    _user_error(_cli('infer', cfg, ckpt, broken, out, ok=False), 'frame 1 is missing')
    other = save_network(SSLBasicVSRNet(12, 2, hr_channels=8), tmp_path / 'other', 'net')
    _user_error(_cli('infer', cfg, other[1], broken, out, ok=False), 'does not fit the architecture', 'another model')
    half = tmp_path / 'half.pth'
    half.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    _user_error(_cli('infer', cfg, half, broken, out, ok=False), 'half.pth', 'corrupt or truncated')
    _user_error(_cli('infer', cfg, ckpt, broken, out, '--engine', 'onnxruntime', '--device', 'cuda', ok=False),
                '--device cuda', 'runs on the CPU')
    assert not out.exists()


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` refuses writes, for root too (permission bits do not stop root: chattr +i)."""
    if os.geteuid() == 0:
        subprocess.run(['chattr', '+i', str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(['chattr', '-i', str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_infer_writes_its_output_whole_or_not_at_all(network, tmp_path, bikes_frames):
    cfg, ckpt = network
    lr = tmp_path / 'lr'
    lr.mkdir()
    for i in range(3):
        cv2.imwrite(str(lr / f'{i:08d}.png'), bikes_frames[i, :24, :32])
    rodir, ro = tmp_path / 'rodir', tmp_path / 'ro'
    rodir.mkdir(), ro.mkdir()
    with _read_only(rodir), _read_only(ro):  # refused before the network runs, in one line
        _user_error(_cli('infer', cfg, ckpt, lr, rodir, ok=False), 'rodir: cannot write in', 'writable OUTPUT')
        _user_error(_cli('infer', cfg, ckpt, lr, ro / 'out.mp4', ok=False), 'out.mp4: cannot write in')
        _user_error(_cli('infer', cfg, ckpt, lr, ro / 'frames', ok=False), 'frames: cannot write in')
    assert list(rodir.iterdir()) == [] and list(ro.iterdir()) == []
    taken = tmp_path / 'taken'
    taken.write_text('mine')
    _user_error(_cli('infer', cfg, ckpt, lr, taken, ok=False), 'taken: exists as a file')
    assert taken.read_text() == 'mine'

    stale = tmp_path / 'frames'
    stale.mkdir()
    (stale / '00000007.png').write_bytes(b'an older run')
    _user_error(_cli('infer', cfg, ckpt, lr, stale, ok=False), 'frames: exists and is not empty', '--overwrite')
    assert (stale / '00000007.png').read_bytes() == b'an older run'
    _cli('infer', cfg, ckpt, lr, stale, '--overwrite')  # replaced whole: no stale frame beside the new ones
    assert sorted(p.name for p in stale.iterdir()) == ['00000000.png', '00000001.png', '00000002.png']
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(stale.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((stale / '00000000.png').stat().st_mode) == 0o666 & ~umask

    video = tmp_path / 'out.mp4'
    video.write_bytes(b'an older video')
    _user_error(_cli('infer', cfg, ckpt, lr, video, ok=False), 'out.mp4: exists', '--overwrite')
    assert video.read_bytes() == b'an older video'
    _cli('infer', cfg, ckpt, lr, video, '--overwrite')
    assert len(read_video(video)) == 3
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith('.')]  # no temporaries left


def test_prune_errors_name_the_flag_the_user_typed(network, tmp_path):
    """The library checks the values; the message names the CLI flag, not a params.yaml key."""
    cfg, ckpt = network
    out = tmp_path / 'out'
    result = _cli('prune', cfg, ckpt, '--ratio', 1.5, '--out', out, ok=False)
    _user_error(result, '--ratio=1.5 is outside (0, 1)')
    assert 'prune.ratio' not in result.stderr and 'Warning' not in result.stderr  # third-party noise filtered
    _user_error(_cli('prune', cfg, ckpt, '--ratio', 0.99, '--out', out, ok=False),
                '--ratio=0.99 would remove every unit', 'use --ratio <= ')
    _user_error(_cli('prune', cfg, ckpt, '--ratio', 0.5, '--align', 0, '--out', out, ok=False),
                '--align=0 is not a positive integer')
    assert not out.exists()


def test_help_answers_before_torch_is_imported(repo):
    """Arguments are parsed before the heavy imports, so --help comes back at once."""
    code = ('import sys\n'
            'from ssl_mm.cli import main\n'
            'for argv in (["--help"], ["infer", "--help"], ["prune", "--help"]):\n'
            '    sys.argv = ["ssl-mm", *argv]\n'
            '    try:\n'
            '        main()\n'
            '    except SystemExit as exit:\n'
            '        assert exit.code == 0, exit.code\n'
            'heavy = [m for m in ("torch", "numpy", "mmengine", "mmagic") if m in sys.modules]\n'
            'assert not heavy, heavy\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '--criterion {l1,scale}' in result.stdout
