"""Training frames decoded once per process: ``LoadImageFromFile`` that keeps decoded frames.

On the default profile an iteration crops 5-frame patches out of full frames; decoding those
PNGs took a quarter of each iteration on 2 CPU cores. The embedded clips fit in memory decoded
(about 150 MB), so each frame is decoded once. MMagic's own ``use_cache`` keeps the encoded bytes
only, which saves the disk read but not the decode.
"""
from __future__ import annotations

import numpy as np
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadDecodedFrameCached(LoadImageFromFile):
    """Same arguments and results as MMagic's ``LoadImageFromFile``; each call returns a copy,
    since later transforms (flips) work in place."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decoded: dict[str, np.ndarray] = {}

    def _load_image(self, filename):
        if filename not in self.decoded:
            self.decoded[filename] = super()._load_image(filename)
        return self.decoded[filename].copy()
