"""The report's figures (matplotlib PNG), each from the pipeline's metrics and model files.

Every figure names the profile in its title and states the MAC convention where MACs appear.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # files only; no display on a CI machine
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from ..io import atomic_path  # noqa: E402
from ..pruning.groups import scale_groups  # noqa: E402
from .paper import PAPER_TABLE1  # noqa: E402
from .tables import RUN_ROWS, load_json, psnr_ssim, run_costs  # noqa: E402

MAC_NOTE = 'MACs per LR frame at 180x320 (fvcore convention)'
COLORS = dict(zip(RUN_ROWS, plt.get_cmap('tab10').colors))
PRUNED_METHODS = ('ssl', 'assl', 'l1_norm')

plt.rcParams.update({'font.size': 10, 'axes.grid': True, 'grid.alpha': 0.3, 'savefig.dpi': 130})


def save(fig: plt.Figure, path: Path, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)
    return path


def psnr_vs_macs(metrics_dir: Path, sets: list[str], profile: str, out: Path) -> Path:
    """PSNR against MACs (SPyNet excluded: it is the same in every model) for every evaluated
    set, and the paper's Table 1 Vid4 PSNR against its parameter count (it reports no MACs)."""
    evaluation, costs = load_json(metrics_dir / 'eval' / 'metrics.json'), run_costs(metrics_dir)
    sets = [s for s in sets if any(s in evaluation.get(m, {}) for m in RUN_ROWS)]
    fig, axes = plt.subplots(1, len(sets) + 1, figsize=(5 * (len(sets) + 1), 4.8), squeeze=False)
    for ax, set_name in zip(axes[0], sets):
        bicubic = evaluation.get('bicubic', {}).get(set_name)
        for name, (label, _, _) in RUN_ROWS.items():
            values = evaluation.get(name, {}).get(set_name)
            if name == 'bicubic' or not values or name not in costs:
                continue
            gmacs = costs[name]['cost']['macs_total_without_spynet'] / 1e9
            ax.plot(gmacs, psnr_ssim(values)[0], 'o', ms=8, color=COLORS[name], label=label)
        note = f' (Bicubic {psnr_ssim(bicubic)[0]:.2f})' if bicubic else ''
        ax.set(title=f'{set_name}, this run{note}', xlabel='GMACs per LR frame, without SPyNet',
               ylabel='PSNR (dB)')
        ax.margins(x=0.15, y=0.15)
    ax = axes[0][-1]
    for method, (params_m, results) in PAPER_TABLE1.items():
        if params_m is not None and 'vid4_bi' in results:
            ax.plot(params_m, results['vid4_bi'][0], 's', ms=8, color=COLORS[_run_name(method)])
            ax.annotate(method, (params_m, results['vid4_bi'][0]), fontsize=8, xytext=(6, -3),
                        textcoords='offset points')
    ax.set(title='vid4_bi, paper Table 1 (no MACs published)', xlabel='params (M, without SPyNet)',
           ylabel='PSNR (dB)')
    ax.margins(x=0.2, y=0.15)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f'PSNR vs cost ({profile} profile); {MAC_NOTE}; SPyNet (unpruned) adds the same MACs to every model',
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return save(fig, out, layout=False)


def _run_name(paper_row: str) -> str:
    return next(name for name, (_, row, _) in RUN_ROWS.items() if row == paper_row)


def speedup_vs_mac_ratio(metrics_dir: Path, profile: str, out: Path) -> Path:
    """Measured CPU speed-up against MAC reduction, with the y = x ceiling."""
    costs = run_costs(metrics_dir)
    fig, ax = plt.subplots(figsize=(6, 5))
    top = 1.0
    for name in ('lite', *PRUNED_METHODS):
        if name in costs:
            x, y = costs[name]['mac_ratio'], costs[name]['cpu_speedup']
            ax.plot(x, y, 'o', ms=9, color=COLORS[name], label=f'{RUN_ROWS[name][0]}: {y:.2f}x for {x:.2f}x')
            top = max(top, x, y)
    ax.plot([1, top * 1.1], [1, top * 1.1], 'k--', lw=1, label='y = x (speed-up = MAC ratio)')
    ax.set(title=f'CPU speed-up vs MAC ratio ({profile} profile)\n{MAC_NOTE}, SPyNet included',
           xlabel='MAC ratio (dense MACs / method MACs)', ylabel='measured CPU speed-up (2 threads)')
    ax.legend(fontsize=7, loc='upper left')
    return save(fig, out)


def kept_channels(metrics_dir: Path, profile: str, out: Path) -> Path:
    """Kept fraction of every scale vector, per pruning method, in module order."""
    fig, ax = plt.subplots(figsize=(11, 4.8))
    names = None
    for method in PRUNED_METHODS:
        kept = load_json(metrics_dir / 'kept_channels' / f'{method}.json')
        if not kept:
            continue
        names = names or sorted(kept['full'], key=_module_order)
        fraction = [kept['kept'][n] / kept['full'][n] for n in names]
        ax.step(range(len(names)), fraction, where='mid', color=COLORS[method], label=RUN_ROWS[method][0], lw=1.5)
    if names:
        ticks = [i for i, n in enumerate(names) if not n.startswith(('backward', 'forward')) or '.0.conv1.act_scale_pre' in n]
        ax.set_xticks(ticks, [_short(names[i]) for i in ticks], rotation=30, ha='right', fontsize=7)
    ax.set(title=f'Kept units per scale vector ({profile} profile)', xlabel='scale vector (module order)',
           ylabel='kept fraction', ylim=(0, 1.05))
    ax.legend(fontsize=8)
    return save(fig, out)


def _module_order(name: str) -> tuple:
    """Sort key of a scale vector name in the network's module order (the metrics files keep
    them sorted alphabetically): backward blocks, forward blocks, fusion, upsamplers, conv_hr;
    within a block conv1's inputs, conv1, conv2."""
    parts = name.split('.')
    rank = {'backward_resblocks': 0, 'forward_resblocks': 1, 'fusion': 2, 'conv_hr': 4}.get(parts[0], 3)
    block = int(parts[3]) if rank < 2 else 0
    unit = ['conv1.act_scale_pre', 'conv1.act_scale', 'conv2.act_scale'].index('.'.join(parts[4:])) if rank < 2 else 0
    return rank, parts[0], block, unit


def _short(name: str) -> str:
    return name.replace('_resblocks.main.2.', ' block ').replace('.act_scale', '').replace('.upsample_conv', '')


def scale_distribution(dense_net, sparsified_net, picked: dict[str, torch.Tensor], profile: str, out: Path) -> Path:
    """|scale| at the start (dense) and end (after the search) of SSL's sparsify, the end split
    into the penalised (pruned) and kept units."""
    def values(net, select=None) -> np.ndarray:
        parts = [g.effective_scale().detach().abs().flatten()[select(g) if select else slice(None)]
                 for g in scale_groups(net)]
        return torch.cat(parts).numpy()

    start = values(dense_net)
    end_picked = values(sparsified_net, lambda g: picked[g.name].cpu())
    end_kept = values(sparsified_net, lambda g: ~picked[g.name].cpu())
    floor = 1e-6
    bins = np.logspace(np.log10(floor), np.log10(max(start.max(), end_kept.max(), 1.0) * 1.5), 60)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    ax.hist(np.clip(start, floor, None), bins, alpha=0.5, label=f'start (dense), {start.size} units')
    ax.hist(np.clip(end_kept, floor, None), bins, alpha=0.6, label=f'end, kept, {end_kept.size} units')
    ax.hist(np.clip(end_picked, floor, None), bins, alpha=0.6, label=f'end, penalised (pruned), {end_picked.size} units')
    ax.set_xscale('log')
    ax.set(title=f'|scale| before and after the SSL sparsity search ({profile} profile)',
           xlabel=f'|scale| (log; values below {floor:g} drawn at {floor:g})', ylabel='units')
    ax.legend(fontsize=8)
    return save(fig, out)


def training_curves(metrics_dir: Path, profile: str, out: Path) -> Path:
    """Training loss of every training stage (logged every logger interval), and SSL's penalty."""
    curves = sorted((metrics_dir / 'curves').rglob('*.csv'))
    panels = {'from scratch': [c for c in curves if c.parent.name == 'curves'],
              'sparsify': [c for c in curves if c.parent.name == 'sparsify'],
              'finetune': [c for c in curves if c.parent.name == 'finetune']}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for ax, (title, files) in zip(axes, panels.items()):
        for path in files:
            curve = pd.read_csv(path)
            ax.plot(curve['step'], curve['loss'], lw=1.2, label=path.stem)
        ax.set_yscale('log')
        ax.set(title=f'{title} ({profile} profile)', xlabel='iteration', ylabel='training loss (log)')
        if title == 'sparsify' and files:
            twin = ax.twinx()
            for path in files:
                curve = pd.read_csv(path)
                if 'ssl_lambda' in curve:
                    twin.plot(curve['step'], curve['ssl_lambda'], ':', lw=1, label=f'{path.stem} lambda')
            twin.set_ylabel('penalty lambda (dotted)')
            twin.grid(False)
        ax.legend(fontsize=8)
    return save(fig, out)
