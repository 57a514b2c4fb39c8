"""Every evaluated cell's numbers as one tidy table (one row per network, ratio, seed and test
set), read from the metrics files the ``evaluate_*`` stages wrote (layout: ssl_mm/cells.py),
and its mean / std over seeds per (network, ratio, set)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..cells import AUTHORS, METHODS, REFERENCES, SSL_STEPS, authors_models, cells

COST_COLUMNS = ['params_m', 'gmacs', 'gmacs_without_spynet', 'mac_ratio', 'cpu_speedup']
KEYS = ['method', 'ratio', 'set']


def load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def psnr_ssim(values: dict) -> tuple[float, float]:
    """The headline pair of a set's metrics: Y channel, or RGB where the protocol says so (REDS4)."""
    return values.get('psnr_y', values.get('psnr_rgb')), values.get('ssim_y', values.get('ssim_rgb'))


def label(name: str) -> str:
    """Table label of an evaluated network name."""
    if name in REFERENCES:
        return REFERENCES[name][0]
    if name in SSL_STEPS:
        return SSL_STEPS[name][1]
    if name.startswith(f'{AUTHORS}:'):
        return f"SSL, the authors' checkpoint '{name.split(':', 1)[1]}'"
    return METHODS[name].label


def collect(params: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """(per-seed results, unavailable sets -> why). Cells that have not run yet are absent.
    Ratio is 0 for the unpruned references (dense, Bicubic); the authors' checkpoints
    (``ssl_authors:<name>``) have no seed. A set is scored by the models of
    its own degradation only, so (network, ratio, set) never mixes BI- and BD-trained models."""
    rows, unavailable = [], {}

    def add(out: Path, ratio: float, seed: float, degradation: str, rename: dict[str, str]) -> None:
        evaluation, cost = load_json(out / 'metrics.json'), load_json(out / 'cost.json')
        unavailable.update(load_json(out / 'unavailable.json'))
        for name, per_set in evaluation.items():
            if name == 'protocols':
                continue
            own = {} if name == 'bicubic' else cost
            for set_name, values in per_set.items():
                psnr, ssim = psnr_ssim(values)
                rows.append({'method': rename.get(name, name), 'ratio': ratio, 'seed': seed,
                             'degradation': degradation, 'set': set_name,
                             'psnr': psnr, 'ssim': ssim, **{k: own.get(k, float('nan')) for k in COST_COLUMNS}})

    for cell in cells(params):
        add(cell.eval_dir, cell.ratio or 0.0, cell.seed, cell.degradation, {})
    for model in authors_models(params):  # no seed of this run; the ratio their kept lists give
        ratio = load_json(model.eval_dir / 'cost.json').get('prune_ratio', float('nan'))
        add(model.eval_dir, ratio, float('nan'), model.degradation, {AUTHORS: f'{AUTHORS}:{model.name}'})
    frame = pd.DataFrame(rows, columns=[*KEYS[:2], 'seed', 'degradation', 'set', 'psnr', 'ssim', *COST_COLUMNS])
    return frame, unavailable


def over_seeds(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std (ddof=1; NaN for one seed) of PSNR / SSIM over seeds, mean costs, and
    the number of seeds, per (network, ratio, set)."""
    grouped = results.groupby(KEYS, sort=False)
    out = grouped[['psnr', 'ssim', *COST_COLUMNS]].mean()
    out['psnr_std'], out['ssim_std'] = grouped['psnr'].std(), grouped['ssim'].std()
    out['seeds'] = grouped['seed'].nunique()
    return out.reset_index()
