"""The benchmark sets an evaluation can run (Vid4, REDS4, Vimeo-90K-T, UDM10, the embedded
clips): name -> clips, from the prepared folder or the user's data roots. The set names are those of
``ssl_mm.eval.protocols.PROTOCOLS`` (how each is scored); a test keeps the two in step."""
from __future__ import annotations

from pathlib import Path

from ..data.prepare import EMBEDDED_VAL
from ..data.sources import Clip, folder_clips, reds_clips, vimeo_clips
from ..errors import RootError, named_as


def degradation_of(name: str) -> str:
    """The degradation (params.yaml's data.degradations name) of a set's LR: REDS4 is BI."""
    return 'bd' if name.endswith('_bd') else 'bi'


def load_test_set(name: str, prepared: str | Path, roots: dict[str, str | None] | None = None) -> list[Clip]:
    """``roots`` gives ``reds``, ``vimeo90k``, ``udm10`` (and ``vid4_gt``, which prepare turned
    into ``<prepared>/vid4``). A set whose root is unset or missing raises a :class:`RootError`
    named by that key, for the caller to rename to what its user typed."""
    prepared, roots = Path(prepared), roots or {}

    def external(key: str, load):
        with named_as(root=key):
            return load(roots.get(key))

    def vid4(lr_dir: str) -> list[Clip]:
        if not (prepared / 'vid4').is_dir():
            raise RootError('vid4_gt', roots.get('vid4_gt'), 'has not been prepared: set {name} to the Vid4 GT '
                            'folder and run prepare_data')
        return folder_clips(prepared / 'vid4', lr_dir, set_name='prepared Vid4')

    loaders = {
        'vid4_bi': lambda: vid4('BIx4'),
        'vid4_bd': lambda: vid4('BDx4'),
        'embedded_bi': lambda: folder_clips(prepared / 'embedded', 'BIx4', clips=tuple(EMBEDDED_VAL)),
        'embedded_bd': lambda: folder_clips(prepared / 'embedded', 'BDx4', clips=tuple(EMBEDDED_VAL)),
        'reds4': lambda: external('reds', lambda r: reds_clips(r, 'reds4')),
        'vimeo90k_t_bi': lambda: external('vimeo90k', lambda r: vimeo_clips(r, 'BIx4', 'test')),
        'vimeo90k_t_bd': lambda: external('vimeo90k', lambda r: vimeo_clips(r, 'BDx4', 'test')),
        'udm10_bd': lambda: external('udm10', lambda r: folder_clips(r, 'BDx4', set_name='UDM10')),
    }
    if name not in loaders:
        raise ValueError(f'unknown test set {name!r}: use one of {sorted(loaders)}')
    return loaders[name]()
