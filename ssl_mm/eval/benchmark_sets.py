"""The benchmark sets an evaluation can run (Vid4, REDS4, Vimeo-90K-T, UDM10, the embedded
clips): name -> clips, from the prepared folder or the user's data roots."""
from __future__ import annotations

from pathlib import Path

from ..data.prepare import EMBEDDED_VAL
from ..data.sources import Clip, DataError, folder_clips, reds_clips, vimeo_clips

BENCHMARK_SETS = ('vid4_bi', 'vid4_bd', 'embedded_bi', 'embedded_bd', 'reds4', 'vimeo90k_t_bi', 'vimeo90k_t_bd',
             'udm10_bd')


def load_test_set(name: str, prepared: str | Path, roots: dict[str, str | None] | None = None) -> list[Clip]:
    """``roots`` gives ``reds``, ``vimeo90k`` and ``udm10`` (params.yaml ``data`` group)."""
    prepared, roots = Path(prepared), roots or {}

    def root(key: str) -> str:
        if not roots.get(key):
            raise DataError(f'test set {name} needs data.{key} in params.yaml (its root folder)')
        return roots[key]

    loaders = {
        'vid4_bi': lambda: folder_clips(prepared / 'vid4', 'BIx4', set_name='prepared Vid4', params_key='data.vid4_gt'),
        'vid4_bd': lambda: folder_clips(prepared / 'vid4', 'BDx4', set_name='prepared Vid4', params_key='data.vid4_gt'),
        'embedded_bi': lambda: folder_clips(prepared / 'embedded', 'BIx4', clips=tuple(EMBEDDED_VAL)),
        'embedded_bd': lambda: folder_clips(prepared / 'embedded', 'BDx4', clips=tuple(EMBEDDED_VAL)),
        'reds4': lambda: reds_clips(root('reds'), 'reds4'),
        'vimeo90k_t_bi': lambda: vimeo_clips(root('vimeo90k'), 'BIx4', 'test'),
        'vimeo90k_t_bd': lambda: vimeo_clips(root('vimeo90k'), 'BDx4', 'test'),
        'udm10_bd': lambda: folder_clips(root('udm10'), 'BDx4', set_name='UDM10', params_key='data.udm10'),
    }
    if name not in loaders:
        raise ValueError(f'unknown test set {name!r}: use one of {sorted(loaders)}')
    return loaders[name]()
