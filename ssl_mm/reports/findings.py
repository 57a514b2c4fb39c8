"""What the run reproduces of the paper's findings, computed from the numbers each time the report
is written: every finding gets ✓ or ✗ and the numbers behind it, so the reading can never say more
than the metrics do.

(a) the dense model is at least as good as every pruned and lite model, on each set;
(b) PSNR falls as the prune ratio grows, for each method run at several ratios (SSL, L1-norm);
(c)-(e) the orders of ``PAPER_ORDERS`` (ssl_mm/cells.py) at each ratio both methods ran at, each
    by more than the spread over seeds: Welch's t-test, one-sided, at 5 % (needs >= 2 seeds per
    method; with one seed the gap is shown and the finding is not established).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy import stats

from ..cells import AUTHORS, METHODS, PAPER_ORDERS, REFERENCES, SSL_SPARSIFIED
from .results import label

ALPHA = 0.05  # Welch's t-test level


@dataclass(frozen=True)
class Finding:
    claim: str
    holds: bool
    numbers: str

    def line(self) -> str:
        return f'{"✓" if self.holds else "✗"} **{self.claim}**: {self.numbers}'


def _dense_on_top(results: pd.DataFrame, sets: list[str]) -> Finding:
    holds, parts = True, []
    for set_name in sets:
        rows = results[(results['set'] == set_name)].groupby(['method', 'ratio'])['psnr'].mean()
        if ('dense', 0.0) not in rows.index:
            continue
        dense = rows[('dense', 0.0)]
        others = rows.drop([k for k in rows.index if k[0] in REFERENCES or k[0] == SSL_SPARSIFIED  # not pruned yet
                            or k[0].startswith(AUTHORS)])
        if others.empty:
            continue
        (best, ratio), value = others.idxmax(), others.max()
        holds &= dense >= value
        parts.append(f'{set_name}: dense {dense:.2f} dB, best other {label(best)} at {ratio:g} {value:.2f} dB '
                     f'({value - dense:+.2f})')
    return Finding('the dense model is at least as good as every pruned and lite model', holds and bool(parts),
                   '; '.join(parts) or 'not run')


def _falls_with_ratio(results: pd.DataFrame, sets: list[str]) -> Finding:
    holds, parts = True, []
    for method in [m for m, spec in METHODS.items() if spec.curve]:
        for set_name in sets:
            curve = results[(results['method'] == method) & (results['set'] == set_name)].groupby('ratio')['psnr'].mean()
            if len(curve) < 2:
                continue
            falls = bool((curve.diff().dropna() < 0).all())
            holds &= falls
            parts.append(f'{label(method)} on {set_name}: ' + (' > ' if falls else ', ').join(f'{v:.2f}' for v in curve)
                         + f' dB at ratios {", ".join(f"{r:g}" for r in curve.index)}' + ('' if falls else ' (not falling)'))
    return Finding('PSNR falls as the prune ratio grows', holds and bool(parts), '; '.join(parts) or 'not run')


def _ahead(results: pd.DataFrame, ahead: str, behind: str, sets: list[str]) -> tuple[bool, list[str]]:
    """Whether ``ahead`` beats ``behind`` by more than the seed spread on every set and common ratio."""
    holds, parts = True, []
    ratios = set(results.loc[results['method'] == ahead, 'ratio']) & set(results.loc[results['method'] == behind, 'ratio'])
    for ratio in sorted(ratios):
        for set_name in sets:
            def psnrs(method):
                rows = results[(results['method'] == method) & (results['ratio'] == ratio) & (results['set'] == set_name)]
                return rows['psnr'].dropna().to_numpy()
            a, b = psnrs(ahead), psnrs(behind)
            if not len(a) or not len(b):
                continue
            gap = a.mean() - b.mean()
            if min(len(a), len(b)) < 2:
                holds = False
                test = 'one seed: the spread is not measured'
            else:
                p = stats.ttest_ind(a, b, equal_var=False, alternative='greater').pvalue
                holds &= bool(p < ALPHA)
                test = f'Welch p={p:.3f}, {len(a)}/{len(b)} seeds'
            parts.append(f'{label(ahead)} - {label(behind)} at {ratio:g} on {set_name}: {gap:+.2f} dB ({test})')
    return holds and bool(parts), parts


def findings(results: pd.DataFrame, sets: list[str]) -> list[Finding]:
    """The paper's findings, each checked against ``results`` (per-seed rows, reports/results.py)."""
    out = [_dense_on_top(results, sets), _falls_with_ratio(results, sets)]
    for claim, orders in PAPER_ORDERS.items():
        checks = [_ahead(results, a, b, sets) for a, b in orders]
        parts = [part for _, found in checks for part in found]
        out.append(Finding(f'{claim}, by more than the seed spread', all(h for h, _ in checks) and bool(parts),
                           '; '.join(parts) or 'not run'))
    return out
