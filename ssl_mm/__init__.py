"""ssl-mm: Structured Sparsity Learning (SSL, CVPR 2023) for BasicVSR on MMagic/mmengine.

``import ssl_mm`` is light (no torch), so the ``ssl-mm`` CLI parses its arguments at once. What
registers our classes in MMagic's registries is importing ``ssl_mm.models`` (SSLBasicVSRNet,
TemporalFinetuneBasicVSR) and ``ssl_mm.pruning`` (the sparsity hook and optim wrapper): configs
name those in ``custom_imports``.
"""
import warnings

from ._mmcv_ext_standin import install as _install_mmcv_ext_standin

# Deprecation notices from third-party code that users of ssl-mm can do nothing about (diffusers,
# imported by mmagic, calls a private torch API; mmagic uses np.bool8; matplotlib old pyparsing
# names). Filtered by module and category only, before anything imports them; the rest shows.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers\.')
warnings.filterwarnings('ignore', category=DeprecationWarning, module=r'mmagic\.')
warnings.filterwarnings('ignore', category=DeprecationWarning, module=r'matplotlib\.')

_install_mmcv_ext_standin()  # before anything imports mmagic

__version__ = '0.1.0'
