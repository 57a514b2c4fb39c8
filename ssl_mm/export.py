"""ONNX export of an (SSL-)BasicVSR network, verified with onnxruntime.

The recurrence is unrolled for a fixed number of frames and LR size (the exported graph takes
``(1, frames, 3, h, w)``); SPyNet's bilinear resizes and the flow warp (``grid_sample``,
opset >= 16) and the RSC gathers/scatters all have ONNX operators. The file is written
atomically and only kept if onnxruntime reproduces PyTorch's output.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from .errors import ArgumentError, DataError
from .io import atomic_path
from .pruning.permute import contiguous_hidden_state

OPSET = 17
TOLERANCE = 1e-3  # max abs difference on outputs in [0, 1]


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise DataError('onnxruntime is not installed: pip install onnxruntime onnx onnxscript') from None
    return onnxruntime


def session(path: str | os.PathLike, threads: int | None = None):
    """An ONNX Runtime CPU session of ``path`` (``threads``: intra-op threads, default all cores)."""
    onnxruntime = _onnxruntime()
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])


def export_onnx(net: torch.nn.Module, path: str | os.PathLike, frames: int = 5,
                lr_size: tuple[int, int] = (64, 64), seed: int = 0, check: bool = True) -> float | None:
    """Export ``net`` to ``path`` and (``check``) run it with onnxruntime on a fixed input;
    returns the max abs difference to PyTorch (raises if above ``TOLERANCE``), or None unchecked."""
    _onnxruntime()
    if min(lr_size) < 16:
        raise ArgumentError('lr_size', tuple(lr_size), 'is too small: SPyNet needs LR frames of at least 16x16')
    if frames < 2:
        raise ArgumentError('frames', frames, 'is too few: SPyNet needs {name} >= 2')
    net = contiguous_hidden_state(net.eval().cpu())  # same function, fewer gathers in the graph
    clip = torch.rand(1, frames, 3, *lr_size, generator=torch.Generator().manual_seed(seed))
    path, worst = Path(path), None
    with atomic_path(path) as tmp:
        onnx_file = tmp.with_suffix('.onnx')
        try:
            torch.onnx.export(net, (clip,), str(onnx_file), input_names=['lr'], output_names=['sr'],
                              opset_version=OPSET, dynamo=False)
            if check:
                with torch.no_grad():
                    expected = net(clip).numpy()
                [got] = session(onnx_file).run(['sr'], {'lr': clip.numpy()})
                worst = float(np.abs(got - expected).max())
            if check and not worst <= TOLERANCE:
                raise RuntimeError(f'{path}: onnxruntime output differs from PyTorch by {worst:.2e} '
                                   f'(> {TOLERANCE}); the file was not written')
            onnx_file.replace(tmp)
        finally:
            onnx_file.unlink(missing_ok=True)
    return worst


class OnnxRuntimeNet(torch.nn.Module):
    """``net`` run by ONNX Runtime instead of PyTorch, behind the same call: ``(1, t, 3, h, w)``
    float LR in, SR out (CPU tensors). The unrolled graph has a fixed shape, so each new input
    shape is exported once (into ``cache_dir``) and its session kept: running a clip in chunks
    of ``--max-seq-len`` frames needs at most two (the chunk length and the remainder)."""

    def __init__(self, net: torch.nn.Module, cache_dir: str | os.PathLike, threads: int | None = None) -> None:
        super().__init__()
        self.source = [net.eval().cpu()]  # in a list: not a submodule, so .to()/.eval() here leave it alone
        self.cache_dir, self.threads, self.sessions = Path(cache_dir), threads, {}
        # A reused cache_dir may hold another network's graphs: file names carry these weights' hash.
        weights = hashlib.sha256()
        for name, tensor in net.state_dict().items():
            weights.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
        self.fingerprint = weights.hexdigest()[:12]
        self.upscale_factor = getattr(net, 'upscale_factor', None)

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        _, frames, _, h, w = lrs.shape
        if (frames, h, w) not in self.sessions:
            path = self.cache_dir / f'{self.fingerprint}_frames{frames}_{h}x{w}.onnx'
            if not path.is_file():
                export_onnx(self.source[0], path, frames=frames, lr_size=(h, w), check=False)
            self.sessions[frames, h, w] = session(path, self.threads)
        [sr] = self.sessions[frames, h, w].run(['sr'], {'lr': lrs.detach().cpu().float().numpy()})
        return torch.from_numpy(sr)
