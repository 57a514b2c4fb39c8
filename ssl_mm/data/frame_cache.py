"""Training frames: decoded with a check, so a corrupt or missing file is named in one line (exit
2) instead of OpenCV's traceback, and (default profile) decoded once per process.

On the default profile an iteration crops 5-frame patches out of full frames; decoding those
PNGs took a quarter of each iteration on 2 CPU cores. The embedded clips fit in memory decoded
(about 150 MB), so each frame is decoded once. MMagic's own ``use_cache`` keeps the encoded bytes
only, which saves the disk read but not the decode.
"""
from __future__ import annotations

import numpy as np
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS

from ..errors import DataError


@TRANSFORMS.register_module()
class LoadFrameChecked(LoadImageFromFile):
    """MMagic's ``LoadImageFromFile``, but a frame that is missing or does not decode (a
    truncated copy) raises :class:`DataError` naming the file; MMagic passes ``None`` on to
    OpenCV, whose error names no file."""

    def _load_image(self, filename):
        try:
            frame = super()._load_image(filename)
        except FileNotFoundError:
            raise DataError(f'{filename}: training frame missing; the data set is incomplete: restore it from its '
                            f'source (the embedded clips: re-run prepare_data)') from None
        except Exception:  # cv2.error from cvtColor(None): the bytes did not decode
            frame = None
        if frame is None:
            raise DataError(f'{filename}: corrupt or truncated training frame (it does not decode); restore it from '
                            f'the data set\'s source (the embedded clips: re-run prepare_data)')
        return frame


@TRANSFORMS.register_module()
class LoadDecodedFrameCached(LoadFrameChecked):
    """Same arguments and results as :class:`LoadFrameChecked`; each call returns a copy,
    since later transforms (flips) work in place."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decoded: dict[str, np.ndarray] = {}

    def _load_image(self, filename):
        if filename not in self.decoded:
            self.decoded[filename] = super()._load_image(filename)
        return self.decoded[filename].copy()
