"""The dense model's learning curve on the current profile: train_dense at each iteration count,
each run with its own full schedule (``train_dense.iters`` sets the cosine period too), scored
by the evaluate stage on the dense model's sets. It stops once doubling the iterations gains
less than ``--stop-gain`` dB on every set (the dense reference is then converged).

    python benchmarks/dense_learning_curve.py                       # 800, 1600, 3200, ... until converged
    python benchmarks/dense_learning_curve.py --iters 800 1600 --no-stop

Each point runs the pipeline's own stage code (``python -m ssl_mm.stages.train_dense`` then
``evaluate``) in ``work_dirs/learning_curve/iters<N>/``, a workspace with this repository's
params.yaml (``train_dense.iters: N``, ``init_from: null``) and data, so a killed run resumes
where it stopped and a finished point is not trained again (a point already in the CSV is
read back from it). Writes
``reports/dense_learning_curve.csv`` and ``reports/figures/dense_learning_curve.png``; the
trained networks stay in each point's ``models/dense/``, for ``train_dense.init_from``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
import yaml
from matplotlib.ticker import NullFormatter

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / 'work_dirs' / 'learning_curve'
CSV = ROOT / 'reports' / 'dense_learning_curve.csv'
FIGURE = ROOT / 'reports' / 'figures' / 'dense_learning_curve.png'


def workspace(name: str, seed: int, degradation: str, **dense) -> Path:
    """A workspace whose params.yaml is this repository's with ``dense`` as train_dense's settings
    (data paths made absolute, so they resolve from there)."""
    params = yaml.safe_load((ROOT / 'params.yaml').read_text())
    data = params['data']
    for key in ('prepared', 'vid4_gt', 'reds', 'vimeo90k', 'udm10'):
        if data[key]:
            data[key] = str((ROOT / data[key]).resolve())
    params.update(seeds=[seed], other_seeds=[seed])
    data['degradations'] = [degradation]
    params['train_dense'].update(dense)
    ws = SCRATCH / name
    ws.mkdir(parents=True, exist_ok=True)
    (ws / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    if not (ws / 'configs').exists():
        (ws / 'configs').symlink_to(ROOT / 'configs')
    return ws


def stage_in(ws: Path, stage: str, *args: str) -> None:
    """The pipeline's own stage code, in a workspace."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MLFLOW_TRACKING_URI='')
    subprocess.run([sys.executable, '-m', f'ssl_mm.stages.{stage}', *args], cwd=ws, env=env, check=True)


def point(iters: int, seed: int, degradation: str) -> dict:
    """Train (or find trained) the dense model of ``iters`` iterations and score it."""
    ws = workspace(f'iters{iters}', seed, degradation, iters=iters, init_from=None)
    scores = ws / 'metrics' / 'eval' / 'dense' / f'{degradation}-seed{seed}' / 'metrics.json'
    if not scores.exists():
        args = ['dense', '--seed', str(seed), '--degradation', degradation]
        stage_in(ws, 'train_dense', *args)
        stage_in(ws, 'evaluate', *args)
    metrics = json.loads(scores.read_text())
    row = {'iters': iters, **{f'{name}_psnr_y': values['psnr_y'] for name, values in metrics['dense'].items()},
           **{f'bicubic.{name}_psnr_y': values['psnr_y'] for name, values in metrics['bicubic'].items()}}
    return row


def scored_sets(table: pd.DataFrame) -> list[str]:
    """The dense model's PSNR columns (not Bicubic's, not the gains)."""
    return [c for c in table if c.endswith('_psnr_y') and '.' not in c]


def plot(table: pd.DataFrame, path: Path) -> None:
    sets = scored_sets(table)
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4), squeeze=False)
    for ax, column in zip(axes[0], sets):
        ax.plot(table['iters'], table[column], 'o-', label='dense BasicVSR (its own cosine schedule)')
        ax.axhline(table[f'bicubic.{column}'].iloc[0], color='gray', ls='--', label='Bicubic')
        for x, y in zip(table['iters'], table[column]):
            ax.annotate(f'{y:.2f}', (x, y), textcoords='offset points', xytext=(0, 6), ha='center', fontsize=8)
        ax.set(xscale='log', xlabel='training iterations (log scale)', ylabel='Y-PSNR (dB)',
               title=column.removesuffix('_psnr_y'))
        ax.set_xticks(table['iters'], [str(i) for i in table['iters']])
        ax.xaxis.set_minor_formatter(NullFormatter())  # only the measured iteration counts are labelled
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='lower right')
    fig.suptitle('Dense model learning curve (default profile, seed 0): PSNR after N iterations')
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iters', type=int, nargs='+', default=[800, 1600, 3200, 6400, 12800, 25600],
                        help='iteration counts, ascending (each a full run with its own schedule)')
    parser.add_argument('--stop-gain', type=float, default=0.05,
                        help='stop when the last doubling gained less than this (dB) on every set')
    parser.add_argument('--no-stop', action='store_true', help='run every --iters point')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--degradation', default='bi')
    parser.add_argument('--export', type=Path, metavar='PTH',
                        help='write the last point\'s dense network here (for train_dense.init_from, iters: 0)')
    parser.add_argument('--export-lite', type=Path, metavar='PTH',
                        help='also train BasicVSR-lite (at SSL\'s MACs at the first baselines.ratios) for as many '
                             'iterations as that dense model, from scratch, and write it here '
                             '(for baselines.lite_init_from)')
    args = parser.parse_args()
    # Points already in the committed CSV are the record (their workspaces may be gone: a fresh
    # clone, another session): they are read back, not trained again.
    done = pd.read_csv(CSV).set_index('iters') if CSV.exists() else pd.DataFrame()
    rows = []
    for iters in args.iters:
        if iters in done.index:
            print(f'[learning curve] dense, {iters} iterations: from {CSV.relative_to(ROOT)}', flush=True)
            rows.append({'iters': iters, **done.loc[iters].filter(regex='_psnr_y$').drop(
                [c for c in done if c.startswith('gain.')]).to_dict()})
            continue
        print(f'[learning curve] dense, {iters} iterations', flush=True)
        rows.append(point(iters, args.seed, args.degradation))
        table = pd.DataFrame(rows)
        sets = scored_sets(table)
        for column in sets:
            table[f'gain.{column}'] = table[column].diff().round(4)
        CSV.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(CSV, index=False)
        plot(table, FIGURE)
        print(table.to_string(index=False), flush=True)
        gains = table.iloc[-1][[f'gain.{c}' for c in sets]]
        if not args.no_stop and len(table) > 1 and (gains < args.stop_gain).all():
            print(f'[learning curve] converged: doubling to {iters} gained < {args.stop_gain} dB on every set')
            break
    if args.export:
        export(iters, args.seed, args.degradation, args.export)
    if args.export_lite:
        if not args.export:
            parser.error('--export-lite trains BasicVSR-lite beside the exported dense model: pass --export too')
        export_lite(args.export, args.seed, args.degradation, args.export_lite)


def export(iters: int, seed: int, degradation: str, path: Path) -> None:
    """The point's dense.pth as a starting point: its meta records the iterations it was trained
    (``trained_iters``, which BasicVSR-lite's budget counts; a workspace trained before the stage
    recorded it gets it from its metrics)."""
    ws = SCRATCH / f'iters{iters}'
    cell = f'{degradation}-seed{seed}'
    checkpoint = torch.load(ws / 'models' / 'dense' / cell / 'dense.pth', map_location='cpu', weights_only=True)
    trained = json.loads((ws / 'metrics' / 'train' / 'dense' / f'{cell}.json').read_text())['iters']
    checkpoint['meta'].setdefault('trained_iters', trained)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    print(f'[learning curve] {path}: the dense model of {iters} iterations (meta {checkpoint["meta"]})')


def export_lite(dense: Path, seed: int, degradation: str, path: Path) -> None:
    """BasicVSR-lite's starting point, made as the dense one: the pipeline's train_lite stage, from
    scratch, for the exported dense model's iterations (``baselines.lite_iters``), narrowed to the
    MACs of SSL's pruned network at the first comparison ratio (whose sparsify and prune stages run
    first, from that dense model). Every seed of the default run trains sparsify + finetune
    iterations more from it: lite's budget stays the dense model's + sparsify + finetune."""
    trained = torch.load(dense, map_location='cpu', weights_only=True)['meta']['trained_iters']
    ws = workspace(f'lite{trained}', seed, degradation, iters=0, init_from=str(dense.resolve()))
    params = yaml.safe_load((ws / 'params.yaml').read_text())
    ratio = params['baselines']['ratios'][0]
    params['baselines'].update(ratios=[ratio], lite_iters=trained, lite_init_from=None)
    params['prune']['ratios'] = []
    (ws / 'params.yaml').write_text(yaml.safe_dump(params, sort_keys=False))
    cell = ['--seed', str(seed), '--degradation', degradation]
    stage_in(ws, 'train_dense', 'dense', *cell)
    for stage in ('sparsify', 'prune'):
        stage_in(ws, stage, 'ssl', '--ratio', str(ratio), *cell)
    stage_in(ws, 'train_dense', 'lite', '--ratio', str(ratio), *cell)
    made = ws / 'models' / 'lite' / f'{degradation}-ratio{ratio}-seed{seed}' / 'trained.pth'
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(made, path)
    print(f'[learning curve] {path}: BasicVSR-lite of {trained} iterations at ratio {ratio}\'s MACs')


if __name__ == '__main__':
    main()
