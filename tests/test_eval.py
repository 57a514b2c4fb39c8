import json

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_VID4

from ssl_mm.data import bd_degrade, imresize_matlab
from ssl_mm.data.sources import Clip, folder_clips, frame_files, read_frame
from ssl_mm.errors import DataError
from ssl_mm.eval import PROTOCOLS, Protocol
from ssl_mm.eval.evaluate import bicubic_upscaler, evaluate, network_upscaler, summarize, super_resolve, write_results
from ssl_mm.models import SSLBasicVSRNet


def _position_dependent(lr: np.ndarray) -> np.ndarray:
    """A deterministic x2 'model' whose output depends on each frame's position in the input
    sequence, so mirror averaging and chunking are visible in the result."""
    up = lr.repeat(2, axis=1).repeat(2, axis=2).astype(np.float32) / 255
    return np.clip(up + 0.01 * np.arange(len(lr), dtype=np.float32)[:, None, None, None], 0, 1)


def test_flip_seq_averages_each_frame_with_its_mirror():
    lr = np.random.default_rng(0).integers(0, 200, (5, 4, 4, 3), dtype=np.uint8)
    out = super_resolve(_position_dependent, lr, Protocol('t', flip_seq=True))
    base = lr.repeat(2, axis=1).repeat(2, axis=2).astype(np.float32) / 255
    # frame t sits at positions t and 2n-1-t of the mirrored sequence: mean offset 0.01*(n-0.5)
    expected = np.round(np.clip(base + 0.01 * 4.5, 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)


def test_max_seq_len_runs_independent_chunks():
    lr = np.random.default_rng(0).integers(0, 200, (5, 4, 4, 3), dtype=np.uint8)
    out = super_resolve(_position_dependent, lr, Protocol('t', max_seq_len=2))
    whole = super_resolve(_position_dependent, lr, Protocol('t'))
    np.testing.assert_array_equal(out[2], super_resolve(_position_dependent, lr[2:3], Protocol('t'))[0])
    assert not np.array_equal(out, whole)  # positions restart in every chunk


needs_vid4 = pytest.mark.skipif(not SHARED_VID4.is_dir(), reason='../shared/data/vid4 not present')


@needs_vid4
@pytest.mark.parametrize('degradation,protocol,paper_psnr', [
    ('BIx4', 'vid4_bi', 23.78), ('BDx4', 'vid4_bd', 21.80)])
def test_bicubic_baseline_reproduces_the_paper_on_vid4(tmp_path, degradation, protocol, paper_psnr):
    """Paper Table 1, Bicubic row: Vid4 BI 23.78, BD 21.80 dB (Y). SSIM is left out for speed
    (measured 0.6346 BI, 0.5426 BD; see the note on the issue)."""
    degrade = (lambda f: imresize_matlab(f, 1 / 4)) if degradation == 'BIx4' else bd_degrade
    clips = []
    for name in ('calendar', 'city', 'foliage', 'walk'):
        gt = frame_files(SHARED_VID4 / 'GT' / name)
        lr_dir = tmp_path / name
        lr_dir.mkdir()
        for path in gt:
            cv2.imwrite(str(lr_dir / path.name), np.ascontiguousarray(degrade(read_frame(path))[:, :, ::-1]))
        clips.append(Clip(name, tuple(sorted(lr_dir.iterdir())), tuple(gt)))
    fast = PROTOCOLS[protocol].with_overrides(ssim_on=(), flip_seq=False)  # bicubic: flip is a no-op
    per_clip = evaluate({'bicubic': bicubic_upscaler()}, clips, fast)
    assert per_clip['frames'].tolist() == [41, 34, 49, 47]
    assert summarize(per_clip)['psnr_y'].item() == pytest.approx(paper_psnr, abs=0.015)


def test_network_evaluation_writes_dvc_metrics(frames_dataset, tmp_path):
    clips = folder_clips(frames_dataset, 'BDx4')
    clips = [Clip(c.name, c.lr[:3], c.gt[:3]) for c in clips]
    net = SSLBasicVSRNet(8, 1)
    protocols = {'embedded_bd': PROTOCOLS['embedded_bd'],
                 'vimeo_like': PROTOCOLS['vimeo90k_t_bd'].with_overrides(name='vimeo_like')}
    per_clip = pd.concat([evaluate({'ssl': network_upscaler(net), 'bicubic': bicubic_upscaler()}, clips,
                                   protocols['embedded_bd']),
                          evaluate({'ssl': network_upscaler(net)}, clips, protocols['vimeo_like'])])
    assert per_clip.query("set == 'vimeo_like'")['frames'].tolist() == [1, 1]  # centre frame only
    metrics = write_results(per_clip, tmp_path, protocols)
    on_disk = json.loads((tmp_path / 'metrics.json').read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert set(on_disk['ssl']) == {'embedded_bd', 'vimeo_like'}
    assert on_disk['protocols']['vimeo_like']['center_frame_only'] is True
    assert 10 < on_disk['bicubic']['embedded_bd']['psnr_y'] < 50
    assert (tmp_path / 'per_clip.csv').read_text().count('\n') == 7
    with pytest.raises(ValueError, match='unknown protocol keys'):
        PROTOCOLS['vid4_bi'].with_overrides(flip=True)


def test_eval_cli_scores_bicubic_and_a_saved_model(prepared_dir, tmp_path, capsys):
    from ssl_mm.eval.__main__ import main
    from ssl_mm.pruning import pick_pruned, prune, save_network
    net = SSLBasicVSRNet(8, 1)
    model = save_network(prune(net, pick_pruned(net, 0.5)), tmp_path / 'model')
    main(['--prepared', str(prepared_dir), '--sets', 'embedded_bd', '--bicubic', '--max-seq-len', '10',
          '--model', *map(str, model), '--out', str(tmp_path / 'eval')])
    printed = capsys.readouterr().out
    assert 'carphone' in printed and 'bigbuckbunny_late' in printed
    metrics = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
    assert set(metrics) == {'protocols', 'bicubic', 'model'}
    assert metrics['protocols']['embedded_bd']['max_seq_len'] == 10
    # An untrained network is far below bicubic: the numbers are real, not placeholders.
    assert metrics['model']['embedded_bd']['psnr_y'] < metrics['bicubic']['embedded_bd']['psnr_y']
    with pytest.raises(DataError, match='--reds=None is not set: REDS needs --reds, its root folder'):  # exit 2
        main(['--prepared', str(prepared_dir), '--sets', 'reds4', '--bicubic'])


def test_every_protocol_has_a_test_set_loader(tmp_path):
    """Each scored set loads from where it lives: with nothing prepared and no roots given, every
    one asks for its data (a RootError or DataError naming it), none is an unknown name."""
    from ssl_mm.errors import DataError, RootError
    from ssl_mm.eval.benchmark_sets import load_test_set
    for name in PROTOCOLS:
        with pytest.raises((RootError, DataError)):
            load_test_set(name, tmp_path)
    with pytest.raises(ValueError, match='unknown test set'):
        load_test_set('set5', tmp_path)


def test_flow_cache_gives_the_same_output_and_is_keyed_by_spynet_and_input(real_lr_clip, tmp_path):
    import torch

    from ssl_mm.models.flow_cache import cache_flows
    torch.manual_seed(0)
    net = SSLBasicVSRNet(8, 1).eval()
    with torch.no_grad():
        fresh = net(real_lr_clip)
        cached = cache_flows(net, tmp_path)
        first, again = cached(real_lr_clip), cached(real_lr_clip)  # computed, then read back
        assert len(list(tmp_path.rglob('*.pt'))) == 1
        assert torch.equal(first, fresh) and torch.equal(again, fresh)
        cached(real_lr_clip[:, :3])  # another input: another entry
        assert len(list(tmp_path.rglob('*.pt'))) == 2
        other = SSLBasicVSRNet(8, 1).eval()
        other.load_state_dict(net.state_dict())
        other.spynet.basic_module[0].basic_module[0].conv.bias.data += 0.1  # another SPyNet: never a hit
        expected = other(real_lr_clip)
        assert torch.equal(cache_flows(other, tmp_path)(real_lr_clip), expected)
        assert len(list(tmp_path.glob('*'))) == 2  # one folder per SPyNet
