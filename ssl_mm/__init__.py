"""ssl-mm: Structured Sparsity Learning (SSL, CVPR 2023) for BasicVSR on MMagic/mmengine."""
from ._mmcv_ext_standin import install as _install_mmcv_ext_standin

_install_mmcv_ext_standin()

from . import models  # noqa: E402,F401  (registers SSLBasicVSRNet in MMagic's MODELS)
from . import pruning  # noqa: E402,F401  (registers the sparsity hook and optim wrapper)

__version__ = '0.1.0'
