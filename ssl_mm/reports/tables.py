"""The results table: this run's methods beside the paper's Table 1, built with pandas."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..io import atomic_path
from .paper import PAPER_TABLE1

# This run's methods -> (label, the paper row it reproduces)
RUN_METHODS = {'bicubic': ('Bicubic', 'Bicubic'), 'dense': ('BasicVSR (dense)', 'BasicVSR'),
               'pruned': ('SSL pruned, before finetuning', None), 'finetuned': ('SSL', 'SSL')}


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def build_results_table(metrics_dir: str | Path, params: dict) -> pd.DataFrame:
    """One row per (source, method): params, MACs, CPU latency and PSNR/SSIM per test set.
    Sets this run could not evaluate are marked with why, never left blank or invented."""
    metrics_dir = Path(metrics_dir)
    evaluation, prune = _load(metrics_dir / 'eval' / 'metrics.json'), _load(metrics_dir / 'prune.json')
    unavailable = _load(metrics_dir / 'eval' / 'unavailable.json')
    sets = list(params['evaluate']['sets'])
    iterations = '/'.join(str(_load(metrics_dir / f'{k}.json').get('iters', '?'))
                          for k in ('train_dense', 'sparsify', 'finetune'))
    source = f"this run ({params['profile']} profile, {iterations} iterations dense/sparsify/finetune)"
    rows = []
    for method, (label, _) in RUN_METHODS.items():
        cost = prune.get('pruned' if method in ('pruned', 'finetuned') else 'dense', {}) if method != 'bicubic' else {}
        row = {'source': source, 'method': label,
               'params (M, w/o SPyNet)': cost.get('params_without_spynet', float('nan')) / 1e6,
               'GMACs/frame': cost.get('macs_total', float('nan')) / 1e9,
               'CPU s/frame': cost.get('cpu_seconds_per_frame', float('nan'))}
        for name in sets:
            values = evaluation.get(method, {}).get(name)
            if values:
                psnr = values.get('psnr_y', values.get('psnr_rgb'))
                ssim = values.get('ssim_y', values.get('ssim_rgb'))
                row[name] = f'{psnr:.2f} / {ssim:.4f}'
            else:
                row[name] = 'not available' if name in unavailable else 'not run'
        rows.append(row)
    for _, paper_method in RUN_METHODS.values():
        if paper_method is None:
            continue
        params_m, results = PAPER_TABLE1[paper_method]
        row = {'source': 'paper (Table 1)', 'method': paper_method,
               'params (M, w/o SPyNet)': params_m if params_m is not None else float('nan'),
               'GMACs/frame': float('nan'), 'CPU s/frame': float('nan')}
        for name in sets:
            row[name] = f'{results[name][0]:.2f} / {results[name][1]:.4f}' if name in results else 'not in paper'
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, out_dir: str | Path, params: dict) -> list[Path]:
    """``results.csv`` and ``results.md`` (with the conventions stated), written atomically."""
    out_dir = Path(out_dir)
    notes = [
        f"Profile: {params['profile']}; prune ratio {params['prune']['ratio']} (fraction of scale "
        f"entries, global), final pick '{params['prune']['final_pick']}', lambda_tf "
        f"{params['finetune']['lambda_tf']} (Temporal Finetuning as ssl-mm defines it; 0 = released code).",
        'Cells: PSNR / SSIM (Y, except REDS4: RGB). MACs per LR frame at 180x320 (fvcore/mmengine '
        'convention, SPyNet included); the paper reports no FLOPs. CPU latency: 2 threads, channels-last.',
        'SPyNet is trained from scratch: pretrained weights are not available offline.',
        "'not available': the test set is not on this machine (see metrics/eval/unavailable.json).",
    ]
    csv_path, md_path = out_dir / 'results.csv', out_dir / 'results.md'
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format='%.3f')
    with atomic_path(md_path) as tmp:
        tmp.write_text('# SSL reproduction: results\n\n' + '\n'.join(f'- {n}' for n in notes) + '\n\n'
                       + table.round(3).astype(object).where(table.notna(), '-').to_markdown(index=False)
                       + '\n')
    return [csv_path, md_path]
