import hashlib
import math

import cv2
import numpy as np
import pytest
from conftest import SHARED_VID4

from ssl_mm.data import bd_degrade, imresize_matlab
from ssl_mm.data.prepare import prepare
from ssl_mm.data.sources import (
    REDS4_CLIPS,
    DataError,
    check_scale,
    folder_clips,
    read_clip,
    read_frame,
    reds_clips,
    vimeo_clips,
)
from ssl_mm.errors import named_as


def _matlab_reference(img: np.ndarray, scale: float, round_between_passes: bool = False) -> np.ndarray:
    """MATLAB imresize(img, scale, 'bicubic') written out from its documented algorithm, one
    output sample at a time: Keys cubic (a=-0.5), kernel stretched by 1/scale when shrinking,
    u = x/scale + 0.5(1 - 1/scale), taps floor(u - w/2) + 0..ceil(w)+1, weights normalised,
    symmetric mirror [1..n, n..1], rows first, double precision throughout, one uint8 rounding
    at the end (``round_between_passes`` rounds after each pass instead: not what MATLAB does)."""
    def cubic(x):
        x = abs(x)
        if x <= 1:
            return 1.5 * x**3 - 2.5 * x**2 + 1
        if x <= 2:
            return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
        return 0.0

    def resize_rows(a):  # along axis 0, a is (n, m, c)
        n = a.shape[0]
        out_n = math.ceil(n * scale)
        width = 4 / scale if scale < 1 else 4
        out = np.zeros((out_n, ) + a.shape[1:])
        for x in range(1, out_n + 1):
            u = x / scale + 0.5 * (1 - 1 / scale)
            left = math.floor(u - width / 2)
            taps = [left + k for k in range(math.ceil(width) + 2)]
            ws = [(scale * cubic(scale * (u - j)) if scale < 1 else cubic(u - j)) for j in taps]
            total = sum(ws)
            mirror = list(range(n)) + list(range(n - 1, -1, -1))
            acc = np.zeros(a.shape[1:])
            for j, w in zip(taps, ws):
                acc = acc + (w / total) * a[mirror[(j - 1) % (2 * n)]].astype(np.float64)
            out[x - 1] = acc
        return out

    def to_uint8(a):
        return np.floor(np.clip(a, 0, 255) + 0.5).astype(np.uint8)

    rows = resize_rows(img.astype(np.float64))
    if round_between_passes:
        rows = to_uint8(rows)
    return to_uint8(resize_rows(rows.transpose(1, 0, 2)).transpose(1, 0, 2))


@pytest.mark.parametrize('shape,scale', [((9, 13, 3), 1 / 4), ((5, 7, 3), 4), ((11, 6, 3), 1 / 3),
                                         ((8, 8, 1), 2), ((16, 20, 3), 1 / 2)])
def test_bicubic_equals_matlab_reference_on_small_arrays(shape, scale):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    expected = _matlab_reference(img, scale)
    got = imresize_matlab(img if shape[2] > 1 else img[:, :, 0], scale)
    assert got.shape[:2] == (math.ceil(shape[0] * scale), math.ceil(shape[1] * scale))
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_bicubic_equals_matlab_reference_on_real_frames(bikes_frames):
    crop = np.ascontiguousarray(bikes_frames[3, 40:104, 100:180])
    np.testing.assert_array_equal(imresize_matlab(crop, 1 / 4), _matlab_reference(crop, 1 / 4))
    small = imresize_matlab(crop, 1 / 4)
    np.testing.assert_array_equal(imresize_matlab(small, 4), _matlab_reference(small, 4))
    # One rounding at the end, as MATLAB: rounding after each pass changes real frames' values.
    assert (imresize_matlab(crop, 1 / 4) != _matlab_reference(crop, 1 / 4, round_between_passes=True)).any()
    flat = np.full((12, 16, 3), 77, np.uint8)
    assert (imresize_matlab(flat, 1 / 4) == 77).all() and (imresize_matlab(flat, 4) == 77).all()


needs_vid4 = pytest.mark.skipif(not SHARED_VID4.is_dir(), reason='../shared/data/vid4 not present')


@needs_vid4
def test_bd_matches_published_calendar_frames():
    psnrs = []
    for gt_path in sorted((SHARED_VID4 / 'GT' / 'calendar').glob('*.png')):
        ref = read_frame(SHARED_VID4 / 'reference' / 'BDx4_published' / 'calendar' / gt_path.name)
        lr = bd_degrade(read_frame(gt_path))
        psnrs.append(cv2.PSNR(lr, ref))
    assert len(psnrs) == 41 and min(psnrs) >= 55, min(psnrs)


def _write(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _tiny_pair(root, lr_sub, gt_sub, clip, frames, name='{:08d}.png', size=4):
    rng = np.random.default_rng(1)
    for i in range(frames):
        _write(root / gt_sub / clip / name.format(i), rng.integers(0, 255, (4 * size, 4 * size, 3), dtype=np.uint8))
        _write(root / lr_sub / clip / name.format(i), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))


def test_reds_loader_reads_the_standard_layout(tmp_path):
    for clip in REDS4_CLIPS:
        _tiny_pair(tmp_path, 'train_sharp_bicubic/X4', 'train_sharp', clip, 100)
    clips = reds_clips(tmp_path, 'reds4')
    assert [c.name for c in clips] == list(REDS4_CLIPS) and all(len(c.gt) == 100 for c in clips)
    lr, gt = read_clip(clips[0].lr), read_clip(clips[0].gt)
    check_scale(lr, gt, 4, tmp_path)
    with pytest.raises(DataError, match='train_sharp_bicubic/X4/001'):
        reds_clips(tmp_path, 'train')  # 266 training clips expected, only REDS4 exist


def test_vimeo_loader_uses_the_official_list(tmp_path):
    for seq in ('00001/0266', '00002/0010'):
        _tiny_pair(tmp_path, 'BDx4', 'GT', seq, 7, name='im{}.png')
    (tmp_path / 'sep_testlist.txt').write_text('00001/0266\n00002/0010\n')
    clips = vimeo_clips(tmp_path, 'BDx4', 'test')
    assert [c.name for c in clips] == ['00001/0266', '00002/0010'] and len(clips[0].lr) == 7
    with pytest.raises(DataError, match='sep_trainlist.txt'):
        vimeo_clips(tmp_path, 'BDx4', 'train')


def test_udm10_loader_and_its_errors(tmp_path):
    _tiny_pair(tmp_path, 'BDx4', 'GT', 'archpeople', 6)
    [clip] = folder_clips(tmp_path, 'BDx4', set_name='UDM10')
    assert len(clip.gt) == 6
    # The library names the root by its own argument; the caller renames it to what its user typed.
    with pytest.raises(DataError, match=r"root='.*missing' is not a folder: point root at the UDM10 root"):
        folder_clips(tmp_path / 'missing', 'BDx4', set_name='UDM10')
    with pytest.raises(DataError, match=r"data.udm10='.*missing' is not a folder: point data.udm10 at the UDM10"):
        with named_as(root='data.udm10'):
            folder_clips(tmp_path / 'missing', 'BDx4', set_name='UDM10')
    # A frame missing in the middle of a clip.
    (tmp_path / 'GT' / 'archpeople' / '00000003.png').unlink()
    with pytest.raises(DataError, match='archpeople: frame 3 is missing'):
        folder_clips(tmp_path, 'BDx4')
    # Frame-count mismatch between LR and GT (the last LR frame lost).
    _write(tmp_path / 'GT' / 'archpeople' / '00000003.png', np.zeros((16, 16, 3), np.uint8))
    (tmp_path / 'BDx4' / 'archpeople' / '00000005.png').unlink()
    with pytest.raises(DataError, match='5 LR frames but .* has 6 GT frames'):
        folder_clips(tmp_path, 'BDx4')


def test_corrupt_png_and_size_mismatch_are_named(tmp_path):
    _tiny_pair(tmp_path, 'BIx4', 'GT', 'clip', 3)
    bad = tmp_path / 'BIx4' / 'clip' / '00000001.png'
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    [clip] = folder_clips(tmp_path, 'BIx4')
    with pytest.raises(DataError, match=f'{bad}: unreadable image'):
        read_clip(clip.lr)
    with pytest.raises(DataError, match='LR 4x4 x3 != GT 16x16'):
        check_scale(np.zeros((1, 4, 4, 3)), np.zeros((1, 16, 16, 3)), 3, tmp_path)


def _tree_digest(root):
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_prepare_is_deterministic_and_reports_skipped_sets(tmp_path, prepared_dir):
    again = prepare(tmp_path / 'again', reds=str(tmp_path / 'no_reds'))
    assert _tree_digest(tmp_path / 'again' / 'embedded') == _tree_digest(prepared_dir / 'embedded')
    assert again['reds4'] == {'skipped': f'{tmp_path / "no_reds"} does not exist'}
    assert again['vid4'] == {'skipped': 'root not set'}
    assert again['embedded']['train'] == ['bikes', 'bigbuckbunny']
    meta = (prepared_dir / 'embedded' / 'meta_info_val.txt').read_text().split('\n')
    assert meta[0] == 'carphone 30 (144,176,3)'
    lr = read_frame(prepared_dir / 'embedded' / 'BIx4' / 'bikes' / '00000000.png')
    gt = read_frame(prepared_dir / 'embedded' / 'GT' / 'bikes' / '00000000.png')
    np.testing.assert_array_equal(lr, imresize_matlab(gt, 1 / 4))


def test_a_truncated_training_frame_is_named_by_the_training_stage(tmp_path, prepared_dir):
    """train_dense on a copy of the prepared set whose training LR frames are truncated copies:
    one line naming a frame, exit 2, nothing written (MMagic's loader gave OpenCV's 58-line
    ``!_src.empty()`` traceback naming no file)."""
    import os
    import shutil
    import subprocess
    import sys

    from dvc_repo import make_repo
    copy = tmp_path / 'prepared'
    shutil.copytree(prepared_dir, copy, copy_function=os.symlink)  # the frames stay where they are
    clips = [line.split()[0] for line in (copy / 'embedded' / 'meta_info_train.txt').read_text().splitlines()]
    truncated = []
    for clip in clips:  # every training LR frame: the first sample drawn meets one
        for link in sorted((copy / 'embedded' / 'BIx4' / clip).iterdir()):
            data = link.read_bytes()
            link.unlink()
            link.write_bytes(data[:len(data) // 2])
            truncated.append(str(link))

    def edit(params):
        params['data'].update(prepared=str(copy), vid4_gt=None)
        params['train_dense']['iters'] = 20

    root = make_repo(tmp_path / 'repo', edit)
    result = subprocess.run([sys.executable, '-m', 'ssl_mm.stages.train_dense', 'dense', '--seed', '0'], cwd=root,
                            capture_output=True, text=True, timeout=900, env=dict(os.environ, MPLBACKEND='Agg'))
    errors = [line for line in result.stderr.splitlines() if line.startswith('error: ')]
    assert result.returncode == 2 and len(errors) == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert 'corrupt or truncated training frame' in errors[0] and errors[0].split()[1].rstrip(':') in truncated
    assert not (root / 'models').exists()


def test_the_paper_profiles_start_up_check_names_a_truncated_frame(tmp_path, bikes_frames):
    """REDS layout, 270 clips x 100 frames (symlinks to real frames): every listed frame is
    checked by its end-of-file marker, without decoding; a truncated one is named."""
    import time

    from test_paper_profile import make_reds

    from ssl_mm.data.integrity import check_frames, training_frames
    from ssl_mm.data.sources import REDS4_CLIPS, REDS_ALL_CLIPS
    reds = make_reds(tmp_path / 'REDS', bikes_frames[:4])
    ann = tmp_path / 'meta_info_reds_train.txt'
    ann.write_text(''.join(f'{clip} 100 (720,1280,3)\n' for clip in REDS_ALL_CLIPS if clip not in REDS4_CLIPS))
    prefixes = {'img': 'train_sharp_bicubic/X4', 'gt': 'train_sharp'}
    start = time.perf_counter()
    files = training_frames(reds, prefixes, ann)
    check_frames(files)
    print(f'start-up check: {len(files):,} frames in {time.perf_counter() - start:.2f} s')
    assert len(files) == 266 * 100 * 2
    bad = reds / 'train_sharp' / '001' / '00000042.png'  # not 000, 011, 015, 020: REDS4
    data = bad.read_bytes()
    bad.unlink()
    bad.write_bytes(data[:-20])  # a copy cut short
    with pytest.raises(DataError, match=rf'^{bad}: training frame truncated \(no end-of-file marker\)'):
        check_frames(training_frames(reds, prefixes, ann))
    (reds / 'train_sharp_bicubic' / 'X4' / '002' / '00000007.png').unlink()
    with pytest.raises(DataError, match=r'X4/002: 99 frame files, .*meta_info_reds_train.txt lists 100; the data set '
                                        r'is incomplete'):
        check_frames(training_frames(reds, prefixes, ann))
