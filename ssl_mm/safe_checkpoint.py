"""Opening a checkpoint a user names never runs its code.

Every file a user hands to ssl-mm (``ssl-mm import``, ``train_dense.init_from`` and
``spynet_pretrained``, ``authors.checkpoints``, the inputs of ``ssl-mm infer/prune/export``) is
read by :func:`load_checkpoint`, on PyTorch's own weights-only unpickler (``torch.load(...,
weights_only=True)``): tensors, their storages, plain containers and numbers load; nothing else
is ever called.

What that unpickler cannot express on its own: a pickled network inside the file. The SSL
authors' ``model_prune_final.pt`` carries theirs (BasicSR classes), and mmengine checkpoints carry
metadata objects (the message hub's ``HistoryBuffer``, NumPy scalars). Those names are listed
statically before loading (``torch.serialization.get_unsafe_globals_in_checkpoint``, no code runs)
and each is bound, for this one load, to :class:`InertStandIn`, a class that accepts anything and
does nothing: the real class or function is never imported. Only names from ``STAND_IN_ALLOWED``
get a stand-in; any other global (``os.system``, ``builtins.exec``, ``subprocess.Popen``, ...)
refuses the file, with one line naming it and the global it asked for.

The pipeline's own training checkpoints (resume files it wrote itself) keep mmengine's trusted
loading, scoped by :func:`ssl_mm.io.trusted_local_checkpoints`.
"""
from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path

import torch

from .errors import CheckpointError
from .io import atomic_path

# Globals a legitimate checkpoint may name besides tensors: the classes of a pickled network and
# of training metadata. Each becomes an InertStandIn; none is resolved.
STAND_IN_ALLOWED = re.compile(
    r'(basicsr|torch\.nn\.modules|mmengine|mmagic|mmedit|mmcv|numpy)\.[\w.]+'  # networks, their metadata
    r'|torch\.nn\.parameter\.Parameter'
    r'|copyreg\._reconstructor|(builtins|__builtin__)\.object'  # how pickle rebuilds any object
    # A bound method pickles as getattr(obj, name) (mmengine's HistoryBuffer keeps some): getattr
    # itself is replaced, so no attribute is ever looked up.
    r'|(builtins|__builtin__)\.getattr'
    r'|argparse\.Namespace')


class InertStandIn:
    """Takes the place of every allowed non-tensor global: built with any arguments, given any
    state, it keeps none and does nothing."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        pass

    def __repr__(self) -> str:
        return '<not loaded: a pickled object ssl-mm does not need>'


def _refused(path: Path, name: str) -> CheckpointError:
    return CheckpointError(f'{path}: refused: the file asks for the Python global {name}, which a checkpoint of '
                           f'weights never needs (ssl-mm loads tensors, containers and inert stand-ins for pickled '
                           f'network classes only); it may be malicious: get the file from its source again')


def _unreadable(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(f'{path}: not a readable checkpoint ({type(err).__name__}); it is corrupt or truncated: '
                           f'fetch it again')


def _unsupported_global(err: Exception) -> str | None:
    match = re.search(r'Unsupported global: GLOBAL ([\w.]+)', str(err))
    return match[1] if match else None


def load_checkpoint(path: str | Path, map_location: str = 'cpu'):
    """The content of the checkpoint file ``path`` (a user's), with tensors, containers and
    :class:`InertStandIn` objects only; :class:`CheckpointError` (one line) for a file that asks
    for any other global, or that is not a readable checkpoint."""
    path = Path(path)
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except ValueError:  # the legacy (pre-1.6) format: its tensors load weights-only, without stand-ins
        unsafe = []
    except Exception as err:  # not a zip, truncated
        raise _unreadable(path, err) from None
    for name in sorted(unsafe):
        if not STAND_IN_ALLOWED.fullmatch(name):
            raise _refused(path, name)
    try:
        with torch.serialization.safe_globals([(InertStandIn, name) for name in unsafe]):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # a global the static listing missed: weights-only refused it
        name = _unsupported_global(err)
        if name:
            raise _refused(path, name) from None
        raise _unreadable(path, err) from None
    except Exception as err:  # truncated zip, bad pickle, not a checkpoint at all
        raise _unreadable(path, err) from None


def tensors_only_copy(path: Path, out_dir: Path) -> Path:
    """``path`` (a user's checkpoint) read by :func:`load_checkpoint` and written back with its
    weights only (``{'state_dict': tensors}``), as ``out_dir/<content hash>.pth``: for a library
    that opens the file with its own, trusting loader (MMagic's SPyNet ``pretrained``)."""
    checkpoint = load_checkpoint(path)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: no weights in it (a dict of tensors, or one under state_dict): pass a '
                              f'PyTorch weights file')
    copy = out_dir / f'{hashlib.md5(path.read_bytes()).hexdigest()}.pth'
    with atomic_path(copy) as tmp:
        torch.save({'state_dict': {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}}, tmp)
    return copy
