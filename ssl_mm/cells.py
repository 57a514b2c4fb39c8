"""The compared methods, the pipeline's cells (method, prune ratio, seed), and where every cell's
files live. This module is the one owner of the artifact layout: stages, the report and the
tests ask it for paths; dvc.yaml spells the same paths and ``tests/test_layout.py`` checks both
agree for every stage.

SSL is the method under test; the others are the paper's baselines (Table 1), run by the same
stage code on the same data. Iteration budget: every method gets as many training iterations
after (or instead of) the dense model as SSL's sparsify + finetune, so no method wins by
training longer. Every method runs at ``baselines.ratios`` (the comparison): the ``spread``
methods once per seed of ``seeds`` (the spread the findings are tested against), the others once
per seed of ``other_seeds``. ``curve`` methods also run at ``prune.ratios``, the rest of the
PSNR-MACs curve, once per seed of ``other_seeds``. Every
method starts from one dense model per degradation of ``data.degradations`` (bi: models trained
and scored on BI LR; bd: on BD LR), as every method of the paper starts from one trained BasicVSR.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path

from .choices import LR_DIRS
from .params import load_params, param


@dataclass(frozen=True)
class Method:
    """How a method is trained, and how the tables name it."""
    label: str                       # its row label in this repository's tables and figures
    paper_row: str | None            # the paper's Table 1 row it reproduces (None: not in the paper)
    curve: bool = False              # also runs at prune.ratios (every method runs at baselines.ratios)
    spread: bool = False             # at baselines.ratios once per seed of `seeds` (else of `other_seeds`)
    search: dict | None = None       # SSLRegularizationHook overrides: a regularised search first
    pick: dict = field(default_factory=dict)  # pick_pruned kwargs when there is no search
    pruned_by: str | None = None     # finetune the pruned model of this method (default: its own)
    from_scratch: bool = False       # a dense network narrowed to SSL's MACs, trained from scratch
    macs_of: str | None = None       # from scratch: the method whose pruned MACs it is narrowed to
    lambda_tf_key: str = 'finetune.lambda_tf'  # the params.yaml key of its Temporal Finetuning weight


METHODS = {
    'ssl': Method('SSL', 'SSL', curve=True, spread=True, search=dict(align_residual=False)),  # RSC: own channels
    'l1_norm': Method('L1-norm (per layer)', 'L1-norm', curve=True, spread=True,
                      pick=dict(criterion='l1', scope='layer')),  # Li et al., no regularisation
    'assl': Method('ASSL-style (aligned residual channels)', 'ASSL', search=dict(align_residual=True)),
    'ssl_tf': Method('SSL + Temporal Finetuning', None, pruned_by='ssl', lambda_tf_key='baselines.lambda_tf'),
    'lite': Method('BasicVSR-lite (dense, SSL MACs, from scratch)', 'BasicVSR-lite', spread=True, from_scratch=True,
                   macs_of='ssl'),
}
UNDER_TEST = 'ssl'  # the method the reading compares every other one with; its search steps are scored too
COMPARED = [m for m in METHODS if m != UNDER_TEST]
# The paper's findings about the methods that the report checks against the numbers
# (ssl_mm/reports/findings.py): each is a PSNR order at equal MACs, (ahead, behind), that must hold
# by more than the spread over seeds. (Dense above everything and PSNR falling with the ratio are
# checked for every method.)
PAPER_ORDERS = {
    'SSL ahead of L1-norm and of BasicVSR-lite': [('ssl', 'l1_norm'), ('ssl', 'lite')],
    'ASSL between SSL and L1-norm': [('ssl', 'assl'), ('assl', 'l1_norm')],
    'Temporal Finetuning improves on SSL': [('ssl_tf', 'ssl')],
}
DENSE_SEED = 0  # the one dense model's training seed: every cell, of every seed, starts from it
# The reference rows: not pruned.
REFERENCES = {'bicubic': ('Bicubic', 'Bicubic'), 'dense': ('BasicVSR (dense)', 'BasicVSR')}
VISUAL = ['ssl', 'l1_norm', 'lite']  # the visual comparison's networks, beside GT, Bicubic and dense
# SSL's networks before its final one, scored too: the search's three PSNRs per ratio are these and
# the finetuned one (name -> its network's kind in the cell, table label).
SSL_STEPS = {'ssl_sparsified': ('sparsified', 'SSL, sparsified (before the cut)'),
             'ssl_pruned': ('pruned', 'SSL, pruned, before finetuning')}
SSL_SPARSIFIED = next(iter(SSL_STEPS))  # not pruned yet
AUTHORS = 'ssl_authors'  # the SSL authors' released pruned models (authors.checkpoints), scored beside ours
EVAL_FILES = ('metrics.json', 'cost.json', 'unavailable.json', 'per_clip.csv', 'per_set.csv')  # what evaluate writes
SEARCHED = [m for m, spec in METHODS.items() if spec.search is not None]
PRUNED = [m for m, spec in METHODS.items() if not spec.from_scratch and spec.pruned_by is None]
FINETUNED = [m for m, spec in METHODS.items() if not spec.from_scratch]
SCRATCH = [m for m, spec in METHODS.items() if spec.from_scratch]


def lambda_tf(method: str, params: dict) -> float:
    """A method's Temporal Finetuning weight (0 for the methods that are not finetuned)."""
    spec = METHODS.get(method)
    return param(params, spec.lambda_tf_key) if spec and not spec.from_scratch else 0.0


def ratios_of(method: str, params: dict) -> list[float]:
    """The prune ratios a method runs at (params.yaml), ascending."""
    ratios = params['baselines']['ratios'] + (params['prune']['ratios'] if METHODS[method].curve else [])
    return sorted(ratios)


def seeds_of(method: str, ratio: float, params: dict) -> list[int]:
    """The seeds a method runs at ``ratio``: ``seeds`` where it measures the spread, else other_seeds."""
    spread = METHODS[method].spread and ratio in params['baselines']['ratios']
    return list(params['seeds' if spread else 'other_seeds'])


@dataclass(frozen=True)
class Cell:
    """One run of a method: ``(method, ratio, seed, degradation)``; the dense model has no ratio."""
    method: str
    ratio: float | None
    seed: int
    degradation: str = 'bi'  # the LR its models train on and are scored on (bi | bd)
    curve_only: bool = False  # at a ratio of prune.ratios only: its stages are <stage>_<method>_curve@...

    @property
    def tag(self) -> str:
        ratio = '' if self.ratio is None else f'ratio{self.ratio}-'
        return f'{self.degradation}-{ratio}seed{self.seed}'

    def stage_name(self, stage: str) -> str:
        """dvc.yaml's name of this cell's ``stage`` (``sparsify_ssl@bi-0.5-0``,
        ``prune_l1_norm_curve@bi-0.25-0``, ``train_dense@bi``); also the name of its MLflow run."""
        if self.method == 'dense':
            return f'{stage}_dense@{self.degradation}'
        block = '_curve' if self.curve_only else ''
        return f'{stage}_{self.method}{block}@{self.degradation}-{self.ratio}-{self.seed}'

    @property
    def ratios_key(self) -> str:
        """The params.yaml key that lists this cell's ratio (errors name it)."""
        return 'prune.ratios' if self.curve_only else 'baselines.ratios'

    @property
    def mlflow_tags(self) -> dict:
        """What every MLflow run of this cell is tagged with."""
        ratio = {} if self.ratio is None else {'prune_ratio': self.ratio}
        return {'method': self.method, **ratio, 'seed': self.seed, 'degradation': self.degradation}

    @property
    def dir(self) -> Path:
        return Path('models') / self.method / self.tag

    def network(self, kind: str) -> Path:
        """Path stem (``.py`` config + ``.pth`` weights) of this cell's ``kind`` network:
        dense, sparsified, pruned, finetuned or trained (lite)."""
        return self.dir / kind

    def metrics(self, stage: str) -> Path:
        return Path('metrics') / stage / self.method / f'{self.tag}.json'

    def curve(self, stage: str) -> Path:
        return Path('metrics') / 'curves' / stage / self.method / f'{self.tag}.csv'

    @property
    def eval_dir(self) -> Path:
        """What ``evaluate`` writes: metrics.json, cost.json, unavailable.json, per_clip/per_set.csv."""
        return Path('metrics') / 'eval' / self.method / self.tag

    def outputs(self, stage: str) -> list[Path]:
        """Every file ``stage`` writes for this cell (dvc.yaml declares the same: tests/test_layout.py)."""
        def network(kind: str) -> list[Path]:
            stem = self.network(kind)
            return [stem.with_suffix('.py'), stem.with_name(f'{kind}_mmagic.py'), stem.with_suffix('.pth')]

        return {
            'train': lambda: [*network(self.final_network().name), self.metrics('train'), self.curve('train')],
            'sparsify': lambda: [*network('sparsified'), self.dir / 'sparsify_state.pt', self.metrics('sparsify'),
                                 self.curve('sparsify')],
            'prune': lambda: [*network('pruned'), self.network('pruned').with_suffix('.onnx'), self.metrics('prune'),
                              self.metrics('kept_channels')],
            'finetune': lambda: [*network('finetuned'), self.metrics('finetune'), self.curve('finetune')],
            'evaluate': lambda: [self.eval_dir / f for f in EVAL_FILES],
        }[stage]()

    def inputs(self, stage: str) -> list[Path]:
        """Every file of an earlier stage that ``stage`` reads for this cell (dvc.yaml's deps
        name the same: tests/test_layout.py)."""
        def weights(cell: Cell, kind: str) -> Path:
            return cell.network(kind).with_suffix('.pth')

        dense = weights(self.dense(), 'dense')
        if self.method == 'dense':
            return [] if stage == 'train' else [dense]
        spec, owner = METHODS[self.method], self.owner()
        return {
            'train': lambda: [dense, self.macs_reference().metrics('prune')],  # SPyNet; the MACs to match
            'sparsify': lambda: [dense],
            'prune': lambda: [dense, *([weights(self, 'sparsified'), self.dir / 'sparsify_state.pt']
                                       if spec.search is not None else [])],
            'finetune': lambda: [weights(owner, 'pruned'), *([weights(owner, 'sparsified')]  # the TF teacher
                                                              if METHODS[owner.method].search is not None else [])],
            'evaluate': lambda: [weights(self, self.final_network().name), self.cost_file(),
                                 *([weights(self, kind) for kind, _ in SSL_STEPS.values()]
                                   if self.method == UNDER_TEST else [])],
        }[stage]()

    # ---- what this cell is made from
    def dense(self) -> 'Cell':
        """The dense model this cell starts from: the one of its degradation, whatever its seed."""
        return dense_cell(self.degradation)

    def owner(self) -> 'Cell':
        """The cell whose pruned network this one finetunes (SSL + TF: SSL's)."""
        return replace(self, method=METHODS[self.method].pruned_by or self.method)

    def macs_reference(self) -> 'Cell':
        """The pruned cell whose MACs a from-scratch method is narrowed to (lite: SSL's)."""
        return replace(self, method=METHODS[self.method].macs_of)

    def final_network(self) -> Path:
        if self.method == 'dense':
            return self.network('dense')
        return self.network('trained' if METHODS[self.method].from_scratch else 'finetuned')

    def cost_file(self) -> Path:
        """The file with this cell's params, MACs and CPU speed-up against the dense model."""
        if self.method in SCRATCH:
            return self.metrics('train')
        return self.owner().metrics('prune')


@dataclass(frozen=True)
class AuthorsModel:
    """A pruned checkpoint of the SSL authors that params.yaml names (``authors.checkpoints.<name>``),
    converted and scored beside this run's models by the ``evaluate_authors`` stage."""
    name: str
    degradation: str          # the LR it was trained on, and is scored on (bi | bd)

    def stage_name(self) -> str:
        """dvc.yaml's name of its stage (``evaluate_authors@<name>``), also its MLflow run's."""
        return f'evaluate_authors@{self.name}'

    @property
    def dir(self) -> Path:
        return Path('models') / AUTHORS / self.name

    @property
    def eval_dir(self) -> Path:
        return Path('metrics') / 'eval' / AUTHORS / self.name

    def network(self) -> Path:
        """Path stem of the converted network (``.py`` config + ``.pth`` weights, as ``ssl-mm import``)."""
        return self.dir / 'pruned'

    def outputs(self) -> list[Path]:
        stem = self.network()
        return [stem.with_suffix('.py'), stem.with_name('pruned_mmagic.py'), stem.with_suffix('.pth'),
                *[self.eval_dir / f for f in EVAL_FILES]]


def authors_models(params: dict) -> list[AuthorsModel]:
    """The authors' checkpoints params.yaml names, in its order."""
    return [AuthorsModel(name, entry['degradation']) for name, entry in params['authors']['checkpoints'].items()]


STAGES = {  # pipeline stage -> the methods it runs for ('dense': the dense model, per degradation)
    'train': ['dense', *SCRATCH], 'sparsify': SEARCHED, 'prune': PRUNED, 'finetune': FINETUNED,
    'evaluate': ['dense', *METHODS],
}


def cell(method: str, ratio: float | None, seed: int, degradation: str, params: dict) -> Cell:
    """The cell of a method at a ratio and seed, placed by params.yaml (the comparison or the curve)."""
    if method == 'dense':
        return dense_cell(degradation)
    return Cell(method, ratio, seed, degradation, curve_only=ratio not in params['baselines']['ratios'])


def dense_cell(degradation: str) -> Cell:
    return Cell('dense', None, DENSE_SEED, degradation)


def cells(params: dict, methods: list[str] | None = None) -> list[Cell]:
    """Every cell params.yaml asks for, per degradation: the dense model, then each method at its
    ratios, per seed of that ratio."""
    out = []
    for lr in params['data']['degradations']:
        if methods is None:
            out.append(dense_cell(lr))
        for method in list(METHODS) if methods is None else methods:
            out += [cell(method, r, s, lr, params) for r in ratios_of(method, params) for s in seeds_of(method, r, params)]
    return out


def dense_cells(params: dict) -> list[Cell]:
    """The dense model's cells: one per degradation."""
    return [dense_cell(lr) for lr in params['data']['degradations']]


def cell_argument(choices: list[str], description: str) -> Cell:
    """The cell a stage runs: ``python -m ssl_mm.stages.<stage> <method> [--ratio R --seed S]``,
    placed by params.yaml (a curve-only ratio names its stages ``..._curve``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('method', choices=choices)
    parser.add_argument('--ratio', type=float, default=None,
                        help='prune ratio of this cell (fraction of scale entries removed)')
    parser.add_argument('--seed', type=int, default=0, help='training seed of this cell')
    parser.add_argument('--degradation', choices=LR_DIRS, default='bi', help='LR of this cell: bi or bd')
    args = parser.parse_args()
    if (args.ratio is None) != (args.method == 'dense'):
        parser.error('--ratio is required for every method but dense')
    if args.method == 'dense' and args.seed != DENSE_SEED:
        parser.error(f'the dense model has one seed ({DENSE_SEED}): every cell starts from it')
    return cell(args.method, args.ratio, args.seed, args.degradation, load_params())
