"""ONNX export of an (SSL-)BasicVSR network, verified with onnxruntime.

The recurrence is unrolled for a fixed number of frames and LR size (the exported graph takes
``(1, frames, 3, h, w)``); SPyNet's bilinear resizes and the flow warp (``grid_sample``,
opset >= 16) and the RSC gathers/scatters all have ONNX operators. The file is written
atomically and only kept if onnxruntime reproduces PyTorch's output.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .errors import ArgumentError, DataError
from .io import atomic_path

OPSET = 17
TOLERANCE = 1e-3  # max abs difference on outputs in [0, 1]


def export_onnx(net: torch.nn.Module, path: str | os.PathLike, frames: int = 5,
                lr_size: tuple[int, int] = (64, 64), seed: int = 0) -> float:
    """Export ``net`` to ``path`` and check it with onnxruntime on a fixed input; returns the max
    abs difference to PyTorch (raises if above ``TOLERANCE``)."""
    try:
        import onnxruntime
    except ImportError:
        raise DataError('onnxruntime is not installed: pip install onnxruntime onnx onnxscript') from None
    if min(lr_size) < 16:
        raise ArgumentError('lr_size', tuple(lr_size), 'is too small: SPyNet needs LR frames of at least 16x16')
    if frames < 2:
        raise ArgumentError('frames', frames, 'is too few: SPyNet needs {name} >= 2')
    net = net.eval().cpu()
    clip = torch.rand(1, frames, 3, *lr_size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = net(clip).numpy()
    path = Path(path)
    with atomic_path(path) as tmp:
        onnx_file = tmp.with_suffix('.onnx')
        try:
            torch.onnx.export(net, (clip,), str(onnx_file), input_names=['lr'], output_names=['sr'],
                              opset_version=OPSET, dynamo=False)
            session = onnxruntime.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
            [got] = session.run(['sr'], {'lr': clip.numpy()})
            worst = float(np.abs(got - expected).max())
            if not worst <= TOLERANCE:
                raise RuntimeError(f'{path}: onnxruntime output differs from PyTorch by {worst:.2e} '
                                   f'(> {TOLERANCE}); the file was not written')
            onnx_file.replace(tmp)
        finally:
            onnx_file.unlink(missing_ok=True)
    return worst
