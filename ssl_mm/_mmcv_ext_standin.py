"""A stand-in for ``mmcv._ext`` so that ``import mmagic.models`` works with mmcv-lite.

Why: mmagic imports every editor at package import time, and some editors (not BasicVSR,
whose SPyNet and convolutions are plain PyTorch) import ``mmcv.ops``, which loads the compiled
``mmcv._ext``. mmcv-lite ships no compiled ops, and building full mmcv takes ~17 min here.
Any call to a compiled op fails loudly instead of silently computing something else.
"""
import importlib.machinery
import importlib.util
import sys
import types


class _MissingOpsModule(types.ModuleType):

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)

        def _missing(*args, **kwargs):
            raise RuntimeError(
                f'mmcv op {name!r} needs full mmcv (mmcv._ext); ssl-mm installs mmcv-lite. '
                'Install mmcv==2.1.0 built from source if you need this op.')

        return _missing


def install() -> None:
    """Register the stand-in unless a real ``mmcv._ext`` is importable."""
    if 'mmcv._ext' in sys.modules:
        return
    try:
        # Looked up in mmcv's folder without importing mmcv (which imports torch): ``import
        # ssl_mm`` stays light, and the CLI answers --help at once.
        mmcv = importlib.util.find_spec('mmcv')
        if mmcv is not None and importlib.machinery.PathFinder.find_spec(
                'mmcv._ext', mmcv.submodule_search_locations) is not None:
            return
    except (ImportError, ValueError):
        pass
    module = _MissingOpsModule('mmcv._ext')
    # A spec with loader=None makes mmengine's mmcv_full_available() report False,
    # instead of crashing on a module without __spec__.
    module.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
    sys.modules['mmcv._ext'] = module
