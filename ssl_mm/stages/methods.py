"""The methods the pipeline compares, and where each one's files live.

SSL is the method under test; the others are the paper's baselines (Table 1), run by the same
stage code on the same data. Iteration budget: every method gets as many training iterations
after (or instead of) the dense model as SSL's sparsify + finetune, so no method wins by
training longer.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Method:
    """How a method is trained; its table row and paper row are in ``ssl_mm.reports.tables``."""
    search: dict | None = None       # SSLRegularizationHook overrides: a regularised search first
    pick: dict = field(default_factory=dict)  # pick_pruned kwargs when there is no search
    pruned_by: str | None = None     # finetune the pruned model of this method (default: its own)
    from_scratch: bool = False       # a dense network narrowed to SSL's MACs, trained from scratch


METHODS = {
    'ssl': Method(search=dict(align_residual=False)),       # RSC: each block its own channels
    'ssl_tf': Method(pruned_by='ssl'),                      # SSL's pruned model + Temporal Finetuning
    'assl': Method(search=dict(align_residual=True)),       # ASSL-style: aligned residual channels
    'l1_norm': Method(pick=dict(criterion='l1', scope='layer')),  # Li et al., no regularisation
    'lite': Method(from_scratch=True),                      # BasicVSR-lite
}
SEARCHED = [m for m, spec in METHODS.items() if spec.search is not None]
PRUNED = [m for m, spec in METHODS.items() if not spec.from_scratch and spec.pruned_by is None]
FINETUNED = [m for m, spec in METHODS.items() if not spec.from_scratch]


def model_dir(method: str) -> Path:
    return Path('models') / method


def final_network(method: str) -> Path:
    """Path stem (``.py`` config + ``.pth`` weights) of a method's final network."""
    if method == 'dense':
        return Path('models') / 'dense'
    return model_dir(method) / ('trained' if METHODS[method].from_scratch else 'finetuned')


def pruned_network(method: str) -> Path:
    return model_dir(METHODS[method].pruned_by or method) / 'pruned'


def method_argument(choices: list[str], description: str, default: str | None = None) -> str:
    """The method a stage runs (``python -m ssl_mm.stages.<stage> <method>``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('method', choices=choices, nargs='?' if default else None, default=default)
    return parser.parse_args().method
