"""The paper table: this run's methods beside the paper's Table 1, built with pandas from the
pipeline's metrics files."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..io import atomic_path
from .paper import PAPER_TABLE1

# Rows of this run: evaluated name -> (label, the paper's row it reproduces, file with its cost)
RUN_ROWS = {
    'bicubic': ('Bicubic', 'Bicubic', None),
    'dense': ('BasicVSR (dense)', 'BasicVSR', None),
    'lite': ('BasicVSR-lite (dense, SSL MACs, from scratch)', 'BasicVSR-lite', 'train_lite.json'),
    'l1_norm': ('L1-norm (per layer)', 'L1-norm', 'prune/l1_norm.json'),
    'assl': ('ASSL-style (aligned residual channels)', 'ASSL', 'prune/assl.json'),
    'ssl_pruned': ('SSL, pruned, before finetuning', None, 'prune/ssl.json'),
    'ssl': ('SSL', 'SSL', 'prune/ssl.json'),
    'ssl_tf': ('SSL + Temporal Finetuning', None, 'prune/ssl.json'),
}
PAPER_SETS = ['reds4', 'vimeo90k_t_bi', 'vid4_bi', 'udm10_bd', 'vimeo90k_t_bd', 'vid4_bd']
NOT_AVAILABLE, NOT_RUN, NOT_IN_PAPER = 'not available', 'not run', 'not in paper'


def load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def psnr_ssim(values: dict) -> tuple[float, float]:
    """The headline pair of a set's metrics: Y channel, or RGB where the protocol says so (REDS4)."""
    return values.get('psnr_y', values.get('psnr_rgb')), values.get('ssim_y', values.get('ssim_rgb'))


def run_costs(metrics_dir: Path) -> dict[str, dict]:
    """Evaluated name -> {'cost': complexity + latency dict, 'mac_ratio', 'cpu_speedup'}."""
    costs = {}
    for name, (_, _, cost_file) in RUN_ROWS.items():
        if cost_file is None:
            continue
        measured = load_json(metrics_dir / cost_file)
        if measured:
            costs[name] = dict(cost=measured['model'], mac_ratio=measured['mac_ratio'],
                               cpu_speedup=measured['cpu_speedup'])
            costs.setdefault('dense', dict(cost=measured['dense'], mac_ratio=1.0, cpu_speedup=1.0))
    return costs


def table_sets(params: dict) -> list[str]:
    """Columns: the evaluated sets first, then the paper's other sets."""
    sets = list(params['evaluate']['sets'])
    return sets + [s for s in PAPER_SETS if s not in sets]


def run_source(metrics_dir: Path, params: dict) -> str:
    iterations = '/'.join(str(load_json(metrics_dir / f).get('iters', '?'))
                          for f in ('train_dense.json', 'sparsify/ssl.json', 'finetune/ssl.json'))
    return f"this run ({params['profile']} profile, {iterations} it. dense/sparsify/finetune)"


def build_paper_table(metrics_dir: str | Path, params: dict) -> pd.DataFrame:
    """One row per (method, source): params, MACs, MAC ratio, CPU latency and speed-up, and
    PSNR / SSIM per test set. Each of our rows is followed by the paper's row for the same
    method. A set this run could not evaluate says why ('not available' on this machine, or
    'not run'); the paper's missing cells say 'not in paper'. Nothing is left blank."""
    metrics_dir = Path(metrics_dir)
    evaluation = load_json(metrics_dir / 'eval' / 'metrics.json')
    unavailable = load_json(metrics_dir / 'eval' / 'unavailable.json')
    costs, sets, source = run_costs(metrics_dir), table_sets(params), run_source(metrics_dir, params)
    nan = float('nan')
    rows = []
    for name, (label, paper_row, _) in RUN_ROWS.items():
        measured = costs.get(name, {})
        cost = measured.get('cost', {})
        row = {'method': label, 'source': source,
               'params (M, w/o SPyNet)': cost.get('params_without_spynet', nan) / 1e6,
               'GMACs/frame': cost.get('macs_total', nan) / 1e9,
               'GMACs/frame w/o SPyNet': cost.get('macs_total_without_spynet', nan) / 1e9,
               'MAC ratio': measured.get('mac_ratio', nan),
               'CPU s/frame': cost.get('cpu_seconds_per_frame', nan),
               'CPU speed-up': measured.get('cpu_speedup', nan)}
        for set_name in sets:
            values = evaluation.get(name, {}).get(set_name)
            if values:
                psnr, ssim = psnr_ssim(values)
                row[set_name] = f'{psnr:.2f} / {ssim:.4f}'
            else:
                row[set_name] = NOT_AVAILABLE if set_name in unavailable else NOT_RUN
        rows.append(row)
        if paper_row is not None:
            params_m, results = PAPER_TABLE1[paper_row]
            paper = {k: nan for k in row}
            paper.update({'method': paper_row, 'source': 'paper (Table 1)',
                          'params (M, w/o SPyNet)': nan if params_m is None else params_m})
            for set_name in sets:
                paper[set_name] = (f'{results[set_name][0]:.2f} / {results[set_name][1]:.4f}'
                                   if set_name in results else NOT_IN_PAPER)
            rows.append(paper)
    return pd.DataFrame(rows)


def table_notes(params: dict) -> list[str]:
    return [
        f"Profile: {params['profile']}; prune ratio {params['prune']['ratio']} (fraction of scale entries; "
        f"global for SSL/ASSL, per layer for L1-norm), final pick '{params['prune']['final_pick']}'; "
        f"SSL finetunes with lambda_tf {params['finetune']['lambda_tf']}, 'SSL + Temporal Finetuning' with "
        f"{params['baselines']['tf_lambda']} (Temporal Finetuning as ssl-mm defines it; 0 = released code).",
        'Cells: PSNR / SSIM (Y, except REDS4: RGB). MACs: multiply-accumulates per LR frame at 180x320 '
        '(fvcore/mmengine convention), with and without SPyNet (unpruned, the same in every model); '
        'the paper reports no FLOPs. MAC ratio and CPU speed-up: dense / method; CPU: 2 threads, channels-last, '
        'median of interleaved runs.',
        'Every method after the dense model trains as many iterations as SSL does (sparsify + finetune); '
        'BasicVSR-lite trains dense + sparsify + finetune iterations from scratch.',
        'SPyNet is trained from scratch: pretrained weights are not available offline.',
        f"'{NOT_AVAILABLE}': the test set is not on this machine (metrics/eval/unavailable.json says why); "
        f"'{NOT_RUN}': not in evaluate.sets (BD sets need BD-trained models: this profile trains on BI).",
    ]


def write_paper_table(table: pd.DataFrame, out_dir: str | Path, params: dict) -> list[Path]:
    """``paper_table.csv`` and ``paper_table.md`` (with the conventions stated), written atomically."""
    out_dir = Path(out_dir)
    csv_path, md_path = out_dir / 'paper_table.csv', out_dir / 'paper_table.md'
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format='%.4g')
    shown = table.round(3).astype(object).where(table.notna(), '-')
    with atomic_path(md_path) as tmp:
        tmp.write_text('# SSL reproduction: paper table (x4)\n\n'
                       + '\n'.join(f'- {n}' for n in table_notes(params)) + '\n\n'
                       + shown.to_markdown(index=False) + '\n')
    return [csv_path, md_path]
