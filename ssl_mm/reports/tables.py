"""The paper table: every (method, prune ratio) of this run, mean +- std over seeds, beside the
paper's Table 1, built with pandas from the pipeline's metrics files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..cells import COMPARED, REFERENCES, SCRATCH, SSL_STEPS, UNDER_TEST, cells, dense_cells
from ..io import atomic_path
from .paper import PAPER_TABLE1
from .results import label, load_json, over_seeds

PAPER_SETS = ['reds4', 'vimeo90k_t_bi', 'vid4_bi', 'udm10_bd', 'vimeo90k_t_bd', 'vid4_bd']
NOT_AVAILABLE, NOT_RUN, NOT_IN_PAPER = 'not available', 'not run', 'not in paper'
ROW_ORDER = [*REFERENCES, UNDER_TEST, *SSL_STEPS, *COMPARED]


def table_sets(params: dict) -> list[str]:
    """Columns: the evaluated sets first, then the paper's other sets."""
    sets = list(params['evaluate']['sets'])
    return sets + [s for s in PAPER_SETS if s not in sets]


def cell_text(psnr: float, psnr_std: float, ssim: float) -> str:
    """'24.29 / 0.6719' for one seed, '24.29 ± 0.03 / 0.6719' (PSNR std over seeds) for more."""
    spread = '' if pd.isna(psnr_std) else f' ± {psnr_std:.2f}'
    return f'{psnr:.2f}{spread} / {ssim:.4f}'


def build_paper_table(results: pd.DataFrame, unavailable: dict, params: dict) -> pd.DataFrame:
    """One row per (network, ratio): seeds, params, MACs, MAC ratio, CPU speed-up and, per test
    set, PSNR (mean ± std over seeds) / SSIM. A set this run could not evaluate says why
    ('not available' on this machine, or 'not run'); nothing is left blank."""
    summary = over_seeds(results)
    sets = table_sets(params)
    rows = []
    order = {name: i for i, name in enumerate(ROW_ORDER)}
    for (name, ratio), group in sorted(summary.groupby(['method', 'ratio'], sort=False),
                                       key=lambda item: (order.get(item[0][0], 99), item[0][1])):
        first = group.iloc[0]
        row = {'method': label(name), 'prune ratio': ratio if name not in REFERENCES else float('nan'),
               'seeds': int(group['seeds'].max()) or None, 'params (M, w/o SPyNet)': first['params_m'],
               'GMACs/frame': first['gmacs'], 'GMACs/frame w/o SPyNet': first['gmacs_without_spynet'],
               'MAC ratio': first['mac_ratio'], 'CPU speed-up': first['cpu_speedup']}
        by_set = group.set_index('set')
        for set_name in sets:
            if set_name in by_set.index:
                s = by_set.loc[set_name]
                row[set_name] = cell_text(s['psnr'], s['psnr_std'], s['ssim'])
            else:
                row[set_name] = NOT_AVAILABLE if set_name in unavailable else NOT_RUN
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table['seeds'] = table['seeds'].astype('Int64')  # none for the authors' checkpoints: not trained here
    return table


def paper_rows(params: dict) -> pd.DataFrame:
    """The paper's Table 1 (x4, PSNR / SSIM) on the same columns."""
    sets = table_sets(params)
    rows = []
    for method, (params_m, results) in PAPER_TABLE1.items():
        rows.append({'method': method, 'params (M, w/o SPyNet)': params_m if params_m is not None else float('nan'),
                     **{s: f'{results[s][0]:.2f} / {results[s][1]:.4f}' if s in results else NOT_IN_PAPER
                        for s in sets}})
    return pd.DataFrame(rows)


def budget_note(params: dict) -> str:
    """The iteration budgets behind the rows, as the training stages recorded them."""
    dense = load_json(dense_cells(params)[0].metrics('train'))
    lite = load_json(cells(params, SCRATCH)[0].metrics('train')) if SCRATCH else None
    rule = ('Every method after the dense model trains as many iterations as SSL does (sparsify + finetune; '
            'L1-norm finetunes that long); BasicVSR-lite trains dense + sparsify + finetune iterations, with the '
            'dense model\'s SPyNet.')
    if not dense or not lite or 'budget' not in lite:
        return rule
    budget = lite['budget']
    fair = sum(budget.values())
    note = (f"{rule} Here: the dense model {_trained(dense)}; sparsify {budget['sparsify']} + finetune "
            f"{budget['finetune']}; BasicVSR-lite {_trained(lite)}")
    if lite.get('trained_iters', fair) != fair:
        note += f', NOT its fair budget of {fair} ({budget["dense"]} + {budget["sparsify"]} + {budget["finetune"]})'
    return note + '.'


def _trained(metrics: dict) -> str:
    """'N iterations' a training stage recorded, with the share of the checkpoint it started from."""
    trained = metrics.get('trained_iters', metrics['iters'])
    if not metrics.get('init_from'):
        return f'{trained} iterations (from scratch)'
    before = metrics.get('init_trained_iters')
    return (f"{trained} iterations ({before if before is not None else 'an unrecorded number'} in "
            f"{metrics['init_from']}, {metrics['iters']} in this run)")


def table_notes(params: dict) -> list[str]:
    speed, max_frames = params['speed'], params['evaluate']['max_frames']
    h, w = speed['lr_size']
    notes = [
        f"Profile: {params['profile']}. Every method at prune ratios {params['baselines']['ratios']} (SSL, L1-norm "
        f"and BasicVSR-lite with seeds {params['seeds']}, the others with {params['other_seeds']}); SSL and L1-norm "
        f"also at {params['prune']['ratios']} (seeds {params['other_seeds']}). Prune ratio: fraction of scale entries "
        "removed (global for SSL/ASSL, per layer for L1-norm); final pick "
        f"'{params['prune']['final_pick']}'. SSL finetunes with lambda_tf {params['finetune']['lambda_tf']}, "
        f"'SSL + Temporal Finetuning' with {params['baselines']['lambda_tf']} (Temporal Finetuning as ssl-mm "
        'defines it; 0 = released code).',
        'Cells: PSNR / SSIM on Y, except REDS4: PSNR on RGB, SSIM on Y as the released code reports it (its RGB '
        'SSIM is in metrics/eval); with several seeds, PSNR is mean ± sample std over seeds. '
        'MACs: multiply-accumulates per LR frame at 180x320 (fvcore/mmengine convention), with and without SPyNet '
        '(unpruned, the same in every model); the paper reports no FLOPs. MAC ratio and CPU speed-up: dense / '
        f"method; CPU: 2 threads, channels-last, {speed['frames']} frames at {h}x{w}, fastest of "
        f"{speed['repeats']} interleaved runs.",
        budget_note(params),
        f"'{NOT_AVAILABLE}': the test set is not on this machine (metrics/eval/*/unavailable.json says why); "
        f"'{NOT_RUN}': not in evaluate.sets, or no model was trained on its degradation (data.degradations="
        f"{params['data']['degradations']}; each model is scored on the sets of its own LR).",
    ]
    if len(params['data']['degradations']) > 1:
        notes.append('Each row\'s BI columns come from the models trained on BI and its BD columns from those trained '
                     'on BD (same method, ratio and seeds); params, MACs and speed-up are the '
                     f"{params['data']['degradations'][0].upper()} models' (results_per_seed.csv has every model).")
    if params['authors']['checkpoints']:
        notes.append("'SSL, the authors' checkpoint': a pruned model the SSL authors released (authors.checkpoints), "
                     'converted as `ssl-mm import` converts it and scored here under the same protocols; trained by '
                     'them on the paper\'s data, not by this run (so no seeds). Its prune ratio is the fraction of '
                     'scale entries its kept index lists remove; its MAC ratio and CPU speed-up are against a dense '
                     'BasicVSR of its size.')
    if max_frames:
        notes.append(f'Only the first {max_frames} frames of each clip were scored (evaluate.max_frames): '
                     'a quick check, not comparable with published numbers.')
    return notes


def write_paper_table(results: pd.DataFrame, table: pd.DataFrame, out_dir: str | Path, params: dict) -> list[Path]:
    """``paper_table.csv`` / ``.md`` (the conventions stated, the paper's rows below ours) and
    ``results_per_seed.csv`` (every network, ratio, seed and set), written atomically."""
    out_dir = Path(out_dir)
    paths = {name: out_dir / name for name in ('paper_table.csv', 'paper_table.md', 'results_per_seed.csv')}
    with atomic_path(paths['paper_table.csv']) as tmp:
        table.to_csv(tmp, index=False, float_format='%.4g')
    with atomic_path(paths['results_per_seed.csv']) as tmp:
        results.to_csv(tmp, index=False, float_format='%.4f')

    def markdown(frame: pd.DataFrame) -> str:
        return frame.round(3).astype(object).where(frame.notna(), '-').to_markdown(index=False)

    with atomic_path(paths['paper_table.md']) as tmp:
        tmp.write_text('# SSL reproduction: paper table (x4)\n\n'
                       + '\n'.join(f'- {n}' for n in table_notes(params)) + '\n\n## This run\n\n'
                       + markdown(table) + '\n\n## The paper (Table 1)\n\n' + markdown(paper_rows(params)) + '\n')
    return list(paths.values())
