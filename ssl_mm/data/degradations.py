"""LR degradations of the VSR literature: MATLAB bicubic (BI) and Gaussian blur + subsample (BD)."""
from __future__ import annotations

import math

import cv2
import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) +
            (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def matlab_contributions(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB imresize's ``contributions``: per output sample, the (0-based) input indices and
    normalised weights. Downscaling widens the kernel by 1/scale (antialiasing); borders are
    mirrored symmetrically (``[1..n, n..1]``)."""
    kernel_width = 4.0
    if scale < 1:
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
        kernel_width /= scale
    else:
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)  # 1-based, as MATLAB
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, mirror.size)]
    keep = np.any(weights != 0, axis=0)
    return indices[:, keep], weights[:, keep]


def _resize_axis(img: np.ndarray, axis: int, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    moved = np.moveaxis(img, axis, 0).astype(np.float64)
    out = np.zeros((indices.shape[0], ) + moved.shape[1:])
    for tap in range(indices.shape[1]):  # tap by tap: the same summation order as imresizemex
        out += weights[:, tap].reshape((-1, ) + (1, ) * (moved.ndim - 1)) * moved[indices[:, tap]]
    return np.moveaxis(out, 0, axis)


def _to_uint8_matlab(x: np.ndarray) -> np.ndarray:
    """MATLAB's uint8(): saturate, round half away from zero."""
    return np.floor(np.clip(x, 0, 255) + 0.5).astype(np.uint8)


def imresize_matlab(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale, 'bicubic')`` for uint8 HxW[xC] images (e.g. scale 1/4 or 4).

    As MATLAB: output size ``ceil(scale * size)``; the dimension with the smaller scale first
    (rows first on a tie); both 1-D passes in float64 with nothing rounded or clipped between
    them, then one conversion to uint8 (saturate, round half away from zero). Rounding after
    each pass instead (as ``imresizemex``'s uint8 output suggests) differs from LR frames that
    MATLAB made from the Vid4 calendar GT in 10.7 % of the values, by up to 5 levels; this
    matches all 41 of them bit for bit (docs/method.md, section 8).
    """
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f'imresize_matlab expects a uint8 HxW or HxWxC image, got {img.dtype} {img.shape}')
    scales = (float(scale), float(scale))
    out = img.astype(np.float64)
    for axis in sorted(range(2), key=lambda a: scales[a]):  # stable: rows first on a tie
        out_length = int(math.ceil(scales[axis] * img.shape[axis]))
        indices, weights = matlab_contributions(img.shape[axis], out_length, scales[axis])
        out = _resize_axis(out, axis, indices, weights)
    return _to_uint8_matlab(out)


def bd_degrade(img: np.ndarray, scale: int = 4, sigma: float = 1.6, ksize: int = 13) -> np.ndarray:
    """BD: ``ksize``x``ksize`` Gaussian blur (sigma 1.6, replicate border), then pixels
    ``(scale*i, scale*j)``; computed in float64 and floored, as the published Vid4 BD frames.

    uint8 HxWxC in, uint8 (H/scale)x(W/scale)xC out.
    """
    if img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError(f'bd_degrade expects a uint8 HxWxC image, got {img.dtype} {img.shape}')
    kernel_1d = cv2.getGaussianKernel(ksize, sigma, cv2.CV_64F)
    blurred = cv2.sepFilter2D(img.astype(np.float64), -1, kernel_1d, kernel_1d,
                              borderType=cv2.BORDER_REPLICATE)
    if blurred.ndim == 2:
        blurred = blurred[:, :, None]
    return np.floor(blurred[::scale, ::scale]).clip(0, 255).astype(np.uint8)


# The LR folders the prepare stage writes, by their standard names.
DEGRADATIONS = {'BIx4': lambda img: imresize_matlab(img, 1 / 4), 'BDx4': bd_degrade}
# params.yaml's name of a degradation (data.degradations) -> its LR folder in every layout
