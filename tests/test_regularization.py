import pytest
import torch

from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.pruning import PenaltySchedule, add_penalty_grads, pick_pruned, scale_groups


def test_schedule_reaches_ceiling_at_iteration_5000_with_ssl_defaults():
    sched = PenaltySchedule()  # 1e-4 every 5 iterations up to 0.1, then 14k stabilisation
    assert sched.ramp_end == 5000 and sched.total_iters == 19000
    assert sched.lam(0) == sched.lam(4) == 0
    assert sched.lam(5) == pytest.approx(1e-4)
    assert sched.lam(4999) < 0.1 and sched.lam(4999) == pytest.approx(0.0999)
    assert sched.lam(5000) == 0.1 and sched.lam(18999) == 0.1
    assert [sched.phase(i) for i in (0, 4999, 5000, 18999, 19000)] == \
        ['ramp', 'ramp', 'stabilize', 'stabilize', 'done']
    # Values that do not divide evenly: the ceiling is reached after ceil(ceiling/step) steps.
    odd = PenaltySchedule(step=0.03, ceiling=0.1, update_interval=2, stabilize_iters=3)
    assert odd.ramp_end == 8 and odd.lam(7) == pytest.approx(0.09) and odd.lam(8) == 0.1
    with pytest.raises(ValueError, match='update_interval'):
        PenaltySchedule(update_interval=0)


def _net_with_distinct_scales():
    net = SSLBasicVSRNet(8, 1)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for g in scale_groups(net):
            g.scale.copy_(torch.rand(g.scale.shape, generator=gen) + 0.5)
    return net


def test_input_scale_penalty_uses_the_input_scale_itself():
    """Released-code bug 1: act_scale_pre.grad += lambda * act_scale (conv1's OUTPUT scale)."""
    net = _net_with_distinct_scales()
    groups = scale_groups(net)
    picked = {g.name: torch.ones_like(g.scale, dtype=torch.bool) for g in groups}
    add_penalty_grads(groups, picked, 0.1)
    conv1 = net.backward_resblocks.main[2][0].conv1
    assert torch.allclose(conv1.act_scale_pre.grad, 0.1 * conv1.act_scale_pre.detach())
    assert not torch.allclose(conv1.act_scale_pre.grad, 0.1 * conv1.act_scale.detach())


def test_penalty_only_on_picked_units_and_input_sets_are_independent():
    """Released-code bug 2: a conv1 with pruned inputs but no pruned outputs got no input penalty."""
    net = _net_with_distinct_scales()
    groups = scale_groups(net)
    picked = {g.name: torch.zeros_like(g.scale, dtype=torch.bool) for g in groups}
    pre = 'forward_resblocks.main.2.0.conv1.act_scale_pre'
    picked[pre][[0, 3]] = True  # only inputs picked; conv1's output set is empty
    add_penalty_grads(groups, picked, 0.05)
    conv1 = net.forward_resblocks.main[2][0].conv1
    expected = torch.zeros(8)
    expected[[0, 3]] = 0.05 * conv1.act_scale_pre.detach()[[0, 3]]
    assert torch.allclose(conv1.act_scale_pre.grad, expected)
    assert conv1.act_scale.grad is None  # nothing picked there, nothing added
    # The penalty is the gradient of lambda/2 * gamma^2, added to an existing gradient.
    add_penalty_grads(groups, picked, 0.05)
    assert torch.allclose(conv1.act_scale_pre.grad, 2 * expected)


def test_equal_scales_still_pick_the_requested_fraction():
    """Released-code bug 3: with all scales 1 the strict '<' threshold picked nothing."""
    net = SSLBasicVSRNet(8, 2)  # fresh: every scale is exactly 1
    picked = pick_pruned(net, 0.5)
    total = sum(m.numel() for m in picked.values())
    assert sum(int(m.sum()) for m in picked.values()) == total // 2
