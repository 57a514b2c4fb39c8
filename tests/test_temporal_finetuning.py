import copy

import torch
from mmagic.registry import MODELS

from ssl_mm.models import SSLBasicVSRNet, TemporalFinetuneBasicVSR, temporal_loss
from ssl_mm.pruning import pick_pruned, prune, scale_groups


def _editor(generator: SSLBasicVSRNet, teacher: SSLBasicVSRNet, lambda_tf: float) -> TemporalFinetuneBasicVSR:
    editor = MODELS.build(dict(
        type='TemporalFinetuneBasicVSR', generator=dict(type='SSLBasicVSRNet', **generator.arch),
        pixel_loss=dict(type='CharbonnierLoss'), lambda_tf=lambda_tf,
        data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.])))
    editor.generator.load_state_dict(generator.state_dict())
    editor.set_teacher(teacher)
    return editor.train()


def _sparsified(seed: int = 0) -> SSLBasicVSRNet:
    torch.manual_seed(seed)
    net = SSLBasicVSRNet(8, 2)
    with torch.no_grad():
        for g in scale_groups(net):
            g.scale.uniform_(0.05, 1.0)
    return net


def _samples(real_lr_clip):
    from mmagic.structures import DataSample
    gt = torch.nn.functional.interpolate(real_lr_clip[0], scale_factor=4, mode='bicubic').clamp(0, 1)
    return DataSample(gt_img=gt.unsqueeze(0))


def test_tf_loss_is_zero_when_the_student_is_the_teacher(real_lr_clip):
    teacher = _sparsified()
    editor = _editor(copy.deepcopy(teacher), teacher, lambda_tf=1.0)
    losses = editor.forward_train(real_lr_clip, _samples(real_lr_clip))
    assert losses['loss_tf'].item() < 1e-5  # Charbonnier eps only
    assert 'loss' in losses and losses['loss'].item() > 0


def test_tf_loss_of_a_pruned_student_is_positive_and_falls_with_training(real_lr_clip):
    teacher = _sparsified()
    # Physically pruned: its hidden states differ from the teacher's,
    student = prune(teacher, pick_pruned(teacher, 0.5))
    with torch.no_grad():  # and moved away from it, as after some finetuning on the pixel loss
        for name, p in student.named_parameters():
            if 'resblocks' in name and name.endswith('weight'):
                p.add_(0.05 * torch.randn_like(p))
    editor = _editor(student, teacher, lambda_tf=1.0)
    optimizer = torch.optim.Adam([p for p in editor.generator.parameters() if p.requires_grad], lr=1e-3)
    samples = _samples(real_lr_clip)
    history = []
    for _ in range(15):
        losses = editor.forward_train(real_lr_clip, samples)
        history.append(losses['loss_tf'].item())
        optimizer.zero_grad()
        (losses['loss'] + losses['loss_tf']).backward()
        optimizer.step()
    assert history[0] > 1e-3
    assert history[-1] < 0.7 * history[0], history
    # The teacher is frozen and outside the module tree (not trained, not checkpointed).
    assert all(not p.requires_grad for p in editor.teacher.parameters())
    assert not any(k.startswith('_teacher') or 'teacher' in k for k in editor.state_dict())


def test_lambda_zero_is_the_released_code(real_lr_clip):
    teacher = _sparsified()
    editor = _editor(prune(teacher, pick_pruned(teacher, 0.5)), teacher, lambda_tf=0.0)
    losses = editor.forward_train(real_lr_clip, _samples(real_lr_clip))
    assert set(losses) == {'loss'}


def test_temporal_loss_averages_steps_and_directions():
    a = {'backward': [torch.zeros(1, 2, 3, 3)] * 2, 'forward': [torch.zeros(1, 2, 3, 3)] * 2}
    b = {'backward': [torch.ones(1, 2, 3, 3)] * 2, 'forward': [torch.zeros(1, 2, 3, 3)] * 2}
    assert abs(temporal_loss(a, b).item() - 0.5) < 1e-6
