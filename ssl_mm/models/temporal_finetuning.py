"""Temporal Finetuning (TF), as ssl-mm defines it (docs/method.md section 10).

The paper finetunes the pruned model with L_rec + L_tf against the growth of pruning error along
the recurrence, but neither the formula nor its weight could be recovered, and the released code
has no TF at all. ssl-mm's reading, labelled as such everywhere it is reported:

    L_tf = mean over time steps and both directions of Charbonnier(h_student, h_teacher)

where h are the propagated hidden states (after each trunk), the teacher is the frozen
sparsified (regularised, pre-slicing) model, and the total loss is L_rec + lambda_tf * L_tf.
``lambda_tf = 0`` is the released code's Charbonnier-only finetuning.
"""
from __future__ import annotations

import torch
from mmagic.models.editors.basicvsr.basicvsr import BasicVSR
from mmagic.registry import MODELS
from torch import nn

from ..errors import ArgumentError


def temporal_loss(student: dict[str, list[torch.Tensor]], teacher: dict[str, list[torch.Tensor]],
                  eps: float = 1e-12) -> torch.Tensor:
    """Mean Charbonnier distance between matching hidden states of both directions."""
    terms = [torch.sqrt((s - t).pow(2) + eps).mean()
             for direction in ('backward', 'forward')
             for s, t in zip(student[direction], teacher[direction], strict=True)]
    return torch.stack(terms).mean()


@MODELS.register_module()
class TemporalFinetuneBasicVSR(BasicVSR):
    """MMagic's BasicVSR editor plus the TF term.

    Args:
        teacher: the frozen teacher network (an ``SSLBasicVSRNet``), or a config dict to build
            one; set its weights with :meth:`set_teacher`. Kept outside the module tree on
            purpose: it is not trained, not in the optimizer and not in checkpoints.
        lambda_tf: weight of L_tf; 0 disables TF (no teacher forward at all).
    """

    def __init__(self, generator: dict, pixel_loss: dict, teacher: dict | nn.Module | None = None,
                 lambda_tf: float = 0.0, **kwargs) -> None:
        super().__init__(generator, pixel_loss, **kwargs)
        if lambda_tf < 0:
            raise ArgumentError('lambda_tf', lambda_tf, 'is negative: use {name} >= 0 (0 disables TF)')
        self.lambda_tf = float(lambda_tf)
        self._teacher: list[nn.Module] = []  # a list hides it from nn.Module registration
        if teacher is not None:
            self.set_teacher(MODELS.build(teacher) if isinstance(teacher, dict) else teacher)
        self._hidden: dict[str, list[torch.Tensor]] | None = None

    @property
    def teacher(self) -> nn.Module | None:
        return self._teacher[0] if self._teacher else None

    def set_teacher(self, teacher: nn.Module) -> None:
        teacher.eval().requires_grad_(False)
        self._teacher[:] = [teacher]

    def forward_tensor(self, inputs, data_samples=None, **kwargs):
        if self.training and self.lambda_tf > 0:
            feats, self._hidden = self.generator(inputs, return_hidden=True)
            return feats
        return super().forward_tensor(inputs, data_samples, **kwargs)

    def forward_train(self, inputs, data_samples=None, **kwargs):
        losses = super().forward_train(inputs, data_samples, **kwargs)
        if self.lambda_tf > 0:
            if self.teacher is None:
                raise RuntimeError('lambda_tf > 0 needs a teacher: call set_teacher() or set model.teacher')
            teacher = self.teacher.to(inputs.device)
            with torch.no_grad():
                _, teacher_hidden = teacher(inputs, return_hidden=True)
            losses['loss_tf'] = self.lambda_tf * temporal_loss(self._hidden, teacher_hidden)
            self._hidden = None
        return losses
