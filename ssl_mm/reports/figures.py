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

from ..cells import METHODS, REFERENCES, SSL_STEPS, UNDER_TEST  # noqa: E402
from ..io import atomic_path  # noqa: E402
from ..pruning.groups import scale_groups  # noqa: E402
from .paper import PAPER_TABLE1  # noqa: E402
from .results import label, load_json, over_seeds  # noqa: E402

MAC_NOTE = 'MACs per LR frame at 180x320 (fvcore convention)'
NAMES = [*REFERENCES, *METHODS, *SSL_STEPS]
COLORS = dict(zip(NAMES, plt.get_cmap('tab10').colors))
MARKERS = dict(zip(NAMES, 'vD*os^PxX'))

plt.rcParams.update({'font.size': 10, 'axes.grid': True, 'grid.alpha': 0.3, 'savefig.dpi': 130})


def save(fig: plt.Figure, path: Path, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)
    return path


def _panels(summary: pd.DataFrame, sets: list[str], extra: int = 0):
    sets = [s for s in sets if s in set(summary['set'])]
    fig, axes = plt.subplots(1, len(sets) + extra, figsize=(5.2 * (len(sets) + extra), 4.8), squeeze=False)
    return fig, axes[0], sets


def _curve(ax, rows: pd.DataFrame, x: str, name: str, annotate: bool = True) -> None:
    """One method across its ratios: mean PSNR, error bars = std over seeds (when > 1 seed)."""
    rows = rows.sort_values('ratio')
    yerr = rows['psnr_std'] if rows['seeds'].max() > 1 else None
    ax.errorbar(rows[x], rows['psnr'], yerr=yerr, fmt='-' + MARKERS[name], ms=7, capsize=3, color=COLORS[name],
                label=label(name) + (f' ({int(rows["seeds"].max())} seeds)' if yerr is not None else ''))
    if annotate and x != 'ratio':
        for _, r in rows.iterrows():
            ax.annotate(f'{r["ratio"]:g}', (r[x], r['psnr']), fontsize=7, xytext=(4, 4), textcoords='offset points')


def _references(ax, rows: pd.DataFrame, x: str | None) -> None:
    for name, style in (('dense', '-'), ('bicubic', ':')):
        ref = rows[rows['method'] == name]
        if ref.empty:
            continue
        psnr = ref['psnr'].iloc[0]
        if x == 'gmacs_without_spynet' and name == 'dense':
            ax.plot(ref[x].iloc[0], psnr, MARKERS[name], ms=9, color=COLORS[name], label=f'{label(name)} {psnr:.2f}')
        else:
            ax.axhline(psnr, ls=style, lw=1, color=COLORS[name], label=f'{label(name)} {psnr:.2f}')


def psnr_vs_macs(results: pd.DataFrame, sets: list[str], profile: str, out: Path) -> Path:
    """PSNR against MACs (SPyNet excluded: it is the same in every model), one line per method
    across its prune ratios (each point labelled with its ratio, error bars over seeds), and the
    paper's Table 1 Vid4 PSNR against its parameter count (it reports no MACs)."""
    summary = over_seeds(results)
    fig, axes, sets = _panels(summary, sets, extra=1)
    for ax, set_name in zip(axes, sets):
        rows = summary[summary['set'] == set_name]
        _references(ax, rows, 'gmacs_without_spynet')
        for name in METHODS:
            if name in set(rows['method']):
                _curve(ax, rows[rows['method'] == name], 'gmacs_without_spynet', name)
        ax.set(title=f'{set_name}, this run (point labels: prune ratio)', xlabel='GMACs per LR frame, without SPyNet',
               ylabel='PSNR (dB)')
        ax.margins(x=0.1, y=0.1)
    ax = axes[-1]
    for method, (params_m, paper) in PAPER_TABLE1.items():
        if params_m is not None and 'vid4_bi' in paper:
            name = next((n for n in NAMES if n in REFERENCES and REFERENCES[n][1] == method), None) or next(
                (n for n, m in METHODS.items() if m.paper_row == method), UNDER_TEST)
            ax.plot(params_m, paper['vid4_bi'][0], MARKERS[name], ms=8, color=COLORS[name])
            ax.annotate(method, (params_m, paper['vid4_bi'][0]), fontsize=8, xytext=(6, -3), textcoords='offset points')
    ax.set(title='vid4_bi, paper Table 1 (no MACs published)', xlabel='params (M, without SPyNet)', ylabel='PSNR (dB)')
    ax.margins(x=0.2, y=0.15)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=4, fontsize=8, frameon=False)
    fig.suptitle(f'PSNR vs cost ({profile} profile); {MAC_NOTE}; SPyNet (unpruned) adds the same MACs to every model',
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return save(fig, out, layout=False)


def psnr_vs_ratio(results: pd.DataFrame, sets: list[str], profile: str, out: Path) -> Path:
    """PSNR against the prune ratio, one line per method (error bars over seeds), the dense
    model and Bicubic as horizontal lines."""
    summary = over_seeds(results)
    fig, axes, sets = _panels(summary, sets)
    for ax, set_name in zip(axes, sets):
        rows = summary[summary['set'] == set_name]
        _references(ax, rows, None)
        for name in [*METHODS, *SSL_STEPS]:
            if name in set(rows['method']):
                _curve(ax, rows[rows['method'] == name], 'ratio', name)
        ax.set(title=f'{set_name} ({profile} profile)', xlabel='prune ratio (fraction of scale entries removed)',
               ylabel='PSNR (dB)')
        ax.margins(x=0.1, y=0.1)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return save(fig, out, layout=False)


def speedup_vs_mac_ratio(results: pd.DataFrame, profile: str, out: Path) -> Path:
    """Measured CPU speed-up against MAC reduction for every pruned cell, with y = x."""
    cells = results.drop_duplicates(['method', 'ratio', 'seed'])
    cells = cells[cells['method'].isin(list(METHODS))]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    top = 1.0
    for name, rows in cells.groupby('method', sort=False):
        ax.plot(rows['mac_ratio'], rows['cpu_speedup'], MARKERS[name], ms=8, color=COLORS[name], label=label(name))
        for _, r in rows.iterrows():
            ax.annotate(f'{r["ratio"]:g}', (r['mac_ratio'], r['cpu_speedup']), fontsize=7, xytext=(4, 4),
                        textcoords='offset points')
        top = max(top, rows['mac_ratio'].max(), rows['cpu_speedup'].max())
    ax.plot([1, top * 1.1], [1, top * 1.1], 'k--', lw=1, label='y = x (speed-up = MAC ratio)')
    ax.set(title=f'CPU speed-up vs MAC ratio ({profile} profile; labels: prune ratio)\n{MAC_NOTE}, SPyNet included',
           xlabel='MAC ratio (dense MACs / method MACs)', ylabel='measured CPU speed-up (2 threads)')
    ax.legend(fontsize=7, loc='upper left')
    return save(fig, out)


def kept_channels(files: dict[str, Path], profile: str, title: str, out: Path) -> Path:
    """Kept fraction of every scale vector, per pruning method (``files``: method -> its
    kept-channels metrics file), in module order; with ``prune.align``, dotted: the widths the
    same ratio keeps unaligned."""
    fig, ax = plt.subplots(figsize=(11, 4.8))
    names = None
    for method, path in files.items():
        kept = load_json(path)
        if not kept:
            continue
        names = names or sorted(kept['full'], key=_module_order)
        fraction = [kept['kept'][n] / kept['full'][n] for n in names]
        ax.step(range(len(names)), fraction, where='mid', color=COLORS[method], label=label(method), lw=1.5)
        if 'unaligned' in kept:  # prune.align > 1: the same ratio ranked without alignment
            fraction = [kept['unaligned'][n] / kept['full'][n] for n in names]
            ax.step(range(len(names)), fraction, where='mid', color=COLORS[method], lw=0.8, ls=':',
                    label=f'{label(method)}, unaligned pick')
    if names:
        ticks = [i for i, n in enumerate(names) if not n.startswith(('backward', 'forward')) or '.0.conv1.act_scale_pre' in n]
        ax.set_xticks(ticks, [_short(names[i]) for i in ticks], rotation=30, ha='right', fontsize=7)
    ax.set(title=f'Kept units per scale vector ({profile} profile, {title})', xlabel='scale vector (module order)',
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


def training_curves(curves: dict[str, list[Path]], profile: str, out: Path) -> Path:
    """Training loss of every training stage (logged every logger interval), and SSL's penalty;
    ``curves``: 'train' / 'sparsify' / 'finetune' -> curve files (``metrics/curves/<stage>/<method>/<cell>.csv``)."""
    panels = {'from scratch': curves.get('train', []), 'sparsify': curves.get('sparsify', []),
              'finetune': curves.get('finetune', [])}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for ax, (title, files) in zip(axes, panels.items()):
        logged = [(path, curve) for path in files if 'loss' in (curve := pd.read_csv(path)) and len(curve)]
        for path, curve in logged:
            ax.plot(curve['step'], curve['loss'], lw=1.2, label=f'{path.parent.name} {path.stem}')
        if files and not logged:  # runs shorter than the logger interval (or iters: 0) log no loss
            ax.text(0.5, 0.5, 'no loss logged:\nruns shorter than the logger interval', ha='center',
                    va='center', transform=ax.transAxes)
        else:
            ax.set_yscale('log')
        ax.set(title=f'{title} ({profile} profile)', xlabel='iteration', ylabel='training loss (log)')
        if title == 'sparsify' and files:
            twin = ax.twinx()
            for path in files:
                curve = pd.read_csv(path)
                if 'ssl_lambda' in curve:
                    twin.plot(curve['step'], curve['ssl_lambda'], ':', lw=1, label=f'{path.parent.name} {path.stem} lambda')
            twin.set_ylabel('penalty lambda (dotted)')
            twin.grid(False)
        ax.legend(fontsize=6)
    return save(fig, out)
