"""Small file helpers shared by stages: atomic writes, so a killed job never leaves half a file,
and the scoped trust that loading the pipeline's own full checkpoints needs."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(path: Path) -> None:
    """Remove the temporaries an earlier atomic write of ``path`` left behind when it was
    killed (SIGKILL skips every cleanup): ``.<name>.<8 chars>.tmp[<suffix>]`` and ``.<name>.old``
    next to ``path``, nothing else."""
    own = re.compile(rf'\.{re.escape(path.name)}\.([a-z0-9_]{{8}}\.tmp({re.escape(path.suffix)})?|old)')
    if path.parent.is_dir():
        for entry in path.parent.iterdir():
            if own.fullmatch(entry.name):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (ending in ``path``'s suffix with ``keep_suffix``,
    for writers that pick a format by it); rename it onto ``path`` only if the block succeeds.
    The file gets the permissions of the user's umask, as any new file (mkstemp's are 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp' + (path.suffix if keep_suffix else ''),
                               dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``path``; it takes the place of ``path`` only if
    the block succeeds (the old folder is removed after the swap), else it is deleted and
    ``path`` stays as it was. The folder gets the permissions of the user's umask (mkdtemp's
    are 0700)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        old = path.with_name(f'.{path.name}.old')
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_trusted_checkpoint(filename: str, map_location=None):
    import torch

    return torch.load(filename, map_location=map_location, weights_only=False)


@contextlib.contextmanager
def trusted_local_checkpoints() -> Iterator[None]:
    """While open, mmengine loads local checkpoints with ``weights_only=False``.

    Runner checkpoints hold optimizer and message-hub state, which torch>=2.6's ``weights_only``
    default refuses. Only the runner of a training stage needs this, for the files it wrote
    itself (resume) or the pipeline's own models (``load_from``): mmengine's loader table is
    restored on exit, so nothing else in the process loads pickles unchecked.
    """
    from mmengine.runner import CheckpointLoader  # here: ssl_mm.io stays importable without mmengine

    schemes = CheckpointLoader._schemes.copy()  # register_scheme edits the table in place first
    CheckpointLoader.register_scheme(prefixes='', loader=_load_trusted_checkpoint, force=True)
    try:
        yield
    finally:
        CheckpointLoader._schemes = schemes


def write_json(path: str | os.PathLike, data: dict) -> None:
    """``data`` as indented JSON with sorted keys, written whole."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + '\n')
