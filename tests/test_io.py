"""Atomic writes (ssl_mm/io.py): outputs follow the user's umask, and a write killed before its
cleanup (SIGKILL) leaves temporaries that the next write of the same path removes, and only those."""
import os
import stat

import pytest

from ssl_mm.io import atomic_dir, atomic_path


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o027, 0o002])
def test_atomic_outputs_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / 'metrics.json') as tmp:
            tmp.write_text('{}')
        with atomic_dir(tmp_path / 'prepared') as tmp:
            (tmp / 'clip').mkdir()
    finally:
        os.umask(old)
    assert _mode(tmp_path / 'metrics.json') == 0o666 & ~umask  # 0644 under the usual 022 (mkstemp: 0600)
    assert _mode(tmp_path / 'prepared') == 0o777 & ~umask  # 0755 under 022 (mkdtemp: 0700)


def test_a_killed_writes_leftovers_are_removed_by_the_next_write_and_nothing_else(tmp_path):
    leftovers = ['.prepared.k1ll3d_x.tmp', '.prepared.old', '.metrics.json.abc_1234.tmp', '.out.mp4.q9q9q9q9.tmp.mp4']
    others = ['.prepared.keep', '.other.abcd1234.tmp', '.prepared.abcd1234.tmp.bak', 'prepared.abcd1234.tmp', 'notes']
    for name in leftovers[:2] + others[:3]:
        (tmp_path / name).mkdir()
        (tmp_path / name / 'frame.png').write_bytes(b'x' * 100)
    for name in leftovers[2:] + others[3:]:
        (tmp_path / name).write_text('partial')
    with atomic_dir(tmp_path / 'prepared') as tmp:
        (tmp / 'clip').mkdir()
    with atomic_path(tmp_path / 'metrics.json') as tmp:
        tmp.write_text('{}')
    with atomic_path(tmp_path / 'out.mp4', keep_suffix=True) as tmp:
        assert tmp.name.endswith('.tmp.mp4')
        tmp.write_bytes(b'video')
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others + ['prepared', 'metrics.json', 'out.mp4'])
