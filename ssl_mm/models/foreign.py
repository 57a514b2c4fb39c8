"""Trained BasicVSR weights from elsewhere, as the dense SSL-BasicVSR to start from (docs/method.md,
section 1.1):

* **MMagic**: a BasicVSR editor checkpoint (``state_dict`` with keys under ``generator.``), as
  MMagic's model zoo ships it; trained with LeakyReLU(0.1);
* **the SSL authors**: an unpruned SSL-BasicVSR (``*-SSL-*-unpruned.pth``, BasicSR's format:
  ``params``, ``*_trunk``, ``upconv*``, SPyNet Sequential indices 0/2/4/6/8, scales shaped
  (1, C, 1, 1)); trained with ReLU;
* **ssl-mm itself**: a dense model a ``train_dense`` stage wrote (``models/dense/*/dense.pth``),
  MMagic's layout with the activation it was trained with in its ``meta``.

Every file is opened by the allow-list loader (:mod:`ssl_mm.safe_checkpoint`): no code in it runs.

Nothing is downloaded: a URL gets an error saying where the file must go.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..choices import ACTIVATIONS, URL
from ..errors import CheckpointError
from ..pruning.checkpoint import state_mismatch
from ..safe_checkpoint import load_checkpoint
from .ssl_basicvsr_net import SSL_ONLY

# The activation each origin's weights were trained with: the default of train_dense.activation.
ORIGIN_ACTIVATION = {'mmagic': 'leaky_relu', 'ssl_authors': 'relu'}




def local_file(path: str, key: str) -> Path:
    """``path`` as an existing local file, or one line naming ``key`` and the fix."""
    if URL.match(path):
        raise CheckpointError(f'{key}={path} is a URL: ssl-mm downloads nothing at run time; fetch the file first '
                              f'(e.g. wget -P checkpoints/ {path}) and set {key} to its local path')
    if not Path(path).is_file():
        raise CheckpointError(f'{key}={path}: file not found; set {key} to a local checkpoint file')
    return Path(path)


def basicsr_name(name: str) -> str:
    """ssl-mm's (MMagic's) name of a parameter of the authors' BasicSR SSL-BasicVSR."""
    name = re.sub(r'^(backward|forward)_trunk\.', r'\1_resblocks.', name)
    name = re.sub(r'^upconv(\d)\.', r'upsample\1.upsample_conv.', name)
    return re.sub(r'^(spynet\.basic_module\.\d+\.basic_module\.)(\d+)\.',
                  lambda m: f'{m[1]}{int(m[2]) // 2}.conv.', name)


def read_foreign(path: Path) -> tuple[dict[str, torch.Tensor], str, str]:
    """The network weights of an MMagic, SSL-authors or ssl-mm dense checkpoint in ssl-mm's names,
    their origin and the activation (a key of ACTIVATIONS) they were trained with."""
    checkpoint = load_checkpoint(path)  # a user's file: weights-only, its pickled metadata inert
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('params'), dict):  # BasicSR
        state = {basicsr_name(k): (v.flatten() if k.endswith(('act_scale', 'act_scale_pre')) else v)
                 for k, v in checkpoint['params'].items()}
        return state, 'ssl_authors', ORIGIN_ACTIVATION['ssl_authors']
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        state = {k.removeprefix('generator.'): v for k, v in checkpoint['state_dict'].items()
                 if k.startswith('generator.')}
        meta = checkpoint.get('meta')
        own = isinstance(meta, dict) and meta.get('stage') == 'train_dense' and meta.get('activation') in ACTIVATIONS
        if state and own:
            return state, 'ssl_mm', meta['activation']
        if state:
            return state, 'mmagic', ORIGIN_ACTIVATION['mmagic']
    raise CheckpointError(f'{path}: neither an MMagic BasicVSR checkpoint (state_dict with generator.* keys), an '
                          f'SSL-authors one (BasicSR params) nor an ssl-mm dense.pth: pass one of those')


def trained_iterations(path: Path) -> int | None:
    """How many iterations the network in ``path`` was trained: recorded by ssl-mm in its dense.pth
    (meta ``trained_iters``); None for other checkpoints (MMagic's, the authors'), which do not say."""
    checkpoint = load_checkpoint(path)
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    iters = meta.get('trained_iters') if isinstance(meta, dict) else None
    return iters if isinstance(iters, int) else None


def load_foreign(net: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
    """Load ``state`` (from :func:`read_foreign`) into ``net``, an SSLBasicVSRNet built with the
    architecture the weights must fit; SSL-only entries it lacks keep their identity values."""
    own = net.state_dict()
    identity = {k: v for k, v in own.items() if k not in state and k.rsplit('.', 1)[-1] in SSL_ONLY}
    why = state_mismatch(net, {**identity, **state})
    if why:
        raise CheckpointError(f'{path} does not fit the configured network ({why}): use a checkpoint of the '
                              f'same width, depth and scale (the paper profile: 64 channels, 30 blocks, x4)')
    net.load_state_dict({**identity, **state})
    return net
