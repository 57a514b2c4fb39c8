"""SSL's sparsity regularisation as mmengine machinery.

The method (docs/method.md section 5): at the start, rank all units globally and pick the
``ratio`` lowest; during training add ``lambda * gamma`` to the gradient of every picked scale
(the gradient of ``lambda/2 * gamma^2``, coupled into Adam), with ``lambda`` growing by ``step``
every ``update_interval`` iterations up to ``ceiling``, then hold it for ``stabilize_iters``.

The penalty has to land between ``backward()`` and ``optimizer.step()``, which no mmengine hook
point reaches, so the work is split:

* :class:`SparsityOptimWrapper` calls a penalty callback right before each optimizer step;
* :class:`SSLRegularizationHook` picks the units, installs the callback, logs the schedule, and
  saves/restores the picked set in checkpoints. ``lambda`` is a pure function of the iteration,
  so a resumed run continues the schedule exactly.

Fixes of the released code (docs/method.md section 9), each tested:
1. the ``act_scale_pre`` penalty uses ``act_scale_pre`` (not conv1's output scale);
2. input and output scale vectors are independent groups, and the ramp ends by iteration
   count, so no layer can keep the schedule from ending;
3. ties are broken deterministically (``pick_pruned``), so equal scales still pick ``ratio``;
4. by default the prune stage removes exactly the penalised set (:func:`final_pruned_set`);
   ``'rerank'`` re-ranks at the end as the released code does.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from mmagic.registry import HOOKS, OPTIM_WRAPPERS
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper

from ..choices import FINAL_PICKS
from ..errors import ArgumentError, CheckpointError
from ..runtime import editor_of
from .contract import PrunableNetwork
from .groups import ScaleGroup, check_criterion, check_ratio, pick_pruned, scale_groups

STATE_KEY = 'ssl_regularization'
SEARCH_DEFAULTS = {'align_residual': False, 'align': 1}  # what a state saved before these settings existed meant


class PenaltySchedule:
    """lambda(iteration) = min(ceiling, step * (iteration // update_interval)), then held.

    With SSL's defaults (1e-4 every 5 iterations up to 0.1, 14k stabilisation) the ceiling is
    reached at iteration 5,000 and the search ends at 19,000.
    """

    def __init__(self, step: float = 1e-4, ceiling: float = 0.1, update_interval: int = 5,
                 stabilize_iters: int = 14000) -> None:
        bounds = {'step': (step, step > 0, '> 0'), 'ceiling': (ceiling, ceiling > 0, '> 0'),
                  'update_interval': (update_interval, update_interval >= 1, '>= 1'),
                  'stabilize_iters': (stabilize_iters, stabilize_iters >= 0, '>= 0')}
        for name, (value, valid, bound) in bounds.items():
            if not valid:
                raise ArgumentError(name, value, f'is out of range: the penalty schedule needs {{name}} {bound}')
        self.step, self.ceiling = step, ceiling
        self.update_interval, self.stabilize_iters = update_interval, stabilize_iters
        # round() guards against 0.1 / 1e-4 = 1000.0000000000001 adding a spurious increment.
        self.num_increments = math.ceil(round(ceiling / step, 9))

    @property
    def ramp_end(self) -> int:
        """First iteration at which lambda equals the ceiling."""
        return self.num_increments * self.update_interval

    @property
    def total_iters(self) -> int:
        return self.ramp_end + self.stabilize_iters

    def lam(self, iteration: int) -> float:
        increments = iteration // self.update_interval
        return self.ceiling if increments >= self.num_increments else self.step * increments

    def phase(self, iteration: int) -> str:
        if iteration < self.ramp_end:
            return 'ramp'
        return 'stabilize' if iteration < self.total_iters else 'done'




def final_pruned_set(net: PrunableNetwork, state: dict, final_pick: str = 'penalized') -> dict[str, torch.Tensor]:
    """What the prune stage removes after the search, from the hook's checkpointed ``state``.

    ``'penalized'`` (default): exactly the units that were penalised, so nothing unpenalised is
    cut and no penalised unit escapes. ``'rerank'``: rank the final scales again at the same
    ratio and criterion, as the released code does (its set can differ from the penalised one).
    """
    if final_pick == 'penalized':
        device = next(net.parameters()).device
        return {k: v.to(device) for k, v in state['picked'].items()}
    if final_pick == 'rerank':
        return pick_pruned(net, state['ratio'], state['criterion'],
                           align_residual=state.get('align_residual', False), align=state.get('align', 1))
    raise ArgumentError('final_pick', final_pick, f'is unknown: use one of {list(FINAL_PICKS)}')


def add_penalty_grads(groups: list[ScaleGroup], picked: dict[str, torch.Tensor], lam: float) -> None:
    """``gamma.grad += lam * picked * gamma`` for every scale vector with picked units."""
    if lam == 0:
        return
    for group in groups:
        mask = picked[group.name]
        if not bool(mask.any()):
            continue
        scale = group.scale
        penalty = lam * mask.to(scale.dtype) * scale.detach()
        if scale.grad is None:
            scale.grad = penalty
        else:
            scale.grad.add_(penalty)


@OPTIM_WRAPPERS.register_module()
class SparsityOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that adds the sparsity penalty to the gradients before each step.

    ``penalty`` is installed by :class:`SSLRegularizationHook`; without it this is a plain
    ``OptimWrapper``. (Not for AMP: the penalty would have to be added after unscaling.)

    Args:
        **kwargs: as ``OptimWrapper`` (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    penalty: Callable[[], None] | None = None

    def step(self, **kwargs) -> None:
        """Add the penalty's gradients (if a hook installed one), then step the optimizer.

        Args:
            **kwargs: passed to ``optimizer.step``.
        """
        if self.penalty is not None:
            self.penalty()
        super().step(**kwargs)


@HOOKS.register_module()
class SSLRegularizationHook(Hook):
    """Picks the units to penalise, drives the penalty schedule, and checkpoints the picked set.

    Args:
        ratio: fraction of all scale entries to prune (global, as SSL's ``stage_pr``).
        criterion: a key of ``CRITERIA``: ``'scale'`` (|gamma|, SSL's code) or ``'l1'`` (weight
            L1, the paper figure).
        step, ceiling, update_interval, stabilize_iters: see :class:`PenaltySchedule`.
        min_keep: units every scale vector keeps.
        align: each scale vector keeps a multiple of this many units (see :func:`pick_pruned`):
            the search penalises the aligned set, which is what the prune stage removes.
        align_residual: ASSL-style search: each branch's hidden-state channels are picked once
            for all residual blocks (see :func:`pick_pruned`); SSL (RSC) leaves them free.
        interval: logging interval for the schedule scalars.
    """

    priority = 'NORMAL'

    def __init__(self, ratio: float = 0.5, criterion: str = 'scale', step: float = 1e-4,
                 ceiling: float = 0.1, update_interval: int = 5, stabilize_iters: int = 14000,
                 min_keep: int = 1, align_residual: bool = False, align: int = 1, interval: int = 10) -> None:
        self.ratio = check_ratio(ratio)
        self.criterion = check_criterion(criterion)
        self.min_keep = min_keep
        self.align_residual = bool(align_residual)
        self.align = align
        self.interval = interval
        self.schedule = PenaltySchedule(step, ceiling, update_interval, stabilize_iters)
        self.picked: dict[str, torch.Tensor] | None = None

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The search's settings and the picked set (CPU masks): what the prune stage reads."""
        return dict(ratio=self.ratio, criterion=self.criterion, align_residual=self.align_residual,
                    align=self.align, picked={k: v.cpu() for k, v in self.picked.items()})

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store :meth:`state_dict` in the checkpoint, once units are picked.

        Args:
            runner (Runner): the training runner.
            checkpoint (dict): the checkpoint about to be saved.
        """
        if self.picked is not None:
            checkpoint[STATE_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the picked set of a resumed search, which must have the same settings.

        Args:
            runner (Runner): the training runner.
            checkpoint (dict): the loaded checkpoint.
        """
        state = checkpoint.get(STATE_KEY)
        if state is not None:
            asked = dict(ratio=self.ratio, criterion=self.criterion, align_residual=self.align_residual,
                         align=self.align)
            for key, value in asked.items():
                if state.get(key, SEARCH_DEFAULTS.get(key)) != value:
                    raise CheckpointError(
                        f'the resumed checkpoint was sparsified with {key}={state.get(key, SEARCH_DEFAULTS.get(key))}, '
                        f'but this run asks {key}={value}: delete the stage work dir to start over')
            self.picked = state['picked']

    # -- training -----------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Pick the units (unless a resumed checkpoint brought them) and install the penalty
        into the runner's :class:`SparsityOptimWrapper`.

        Args:
            runner (Runner): the training runner.
        """
        net = editor_of(runner).generator
        groups = scale_groups(net)
        device = groups[0].scale.device
        if self.picked is None:
            self.picked = pick_pruned(net, self.ratio, self.criterion, self.min_keep,
                                      align_residual=self.align_residual, align=self.align)
        self.picked = {k: v.to(device) for k, v in self.picked.items()}
        optim_wrapper = runner.optim_wrapper
        if not isinstance(optim_wrapper, SparsityOptimWrapper):
            raise ArgumentError('optim_wrapper', type(optim_wrapper).__name__,
                                'cannot add the penalty: SSLRegularizationHook needs a SparsityOptimWrapper; '
                                "set optim_wrapper.type='SparsityOptimWrapper' in the config")
        optim_wrapper.penalty = lambda: add_penalty_grads(groups, self.picked,
                                                         self.schedule.lam(runner.iter))
        if runner.max_iters < self.schedule.total_iters:
            runner.logger.warning(
                f'train max_iters={runner.max_iters} ends before the penalty schedule '
                f'({self.schedule.ramp_end} ramp + {self.schedule.stabilize_iters} stabilise)')
        self._groups = groups

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Every ``interval`` iterations, log lambda and the mean |scale| of picked and kept units.

        Args:
            runner (Runner): the training runner.
            batch_idx (int): index of the batch in the epoch.
            data_batch (dict, optional): the batch.
            outputs (dict, optional): the model's outputs.
        """
        if not (self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner)):
            return
        with torch.no_grad():
            picked_abs, kept_abs = [], []
            for group in self._groups:
                scale = group.effective_scale().abs()
                mask = self.picked[group.name]
                picked_abs.append(scale[mask])
                kept_abs.append(scale[~mask])
        hub = runner.message_hub
        hub.update_scalar('train/ssl_lambda', self.schedule.lam(runner.iter))
        hub.update_scalar('train/ssl_picked_scale_mean', torch.cat(picked_abs).mean().item())
        hub.update_scalar('train/ssl_kept_scale_mean', torch.cat(kept_abs).mean().item())
