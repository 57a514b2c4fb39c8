"""LR degradations of the VSR literature."""
from __future__ import annotations

import cv2
import numpy as np


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
