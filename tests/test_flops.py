import pytest
import torch

from ssl_mm.flops import _macs, complexity, macs_per_frame, param_counts
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.pruning import pick_pruned, prune, scale_groups


def _conv_macs_per_pixel(net: SSLBasicVSRNet) -> int:
    """The analytic count (docs/method.md section 4) for (pruned) BasicVSR x4, per LR pixel, convs without SPyNet:
    per block 9*(|K_pre|*M + M*|K_out|), plus 2*67*64*9 + 128*F + 9*F*4U1 + 4*9*U1*4U2 + 16*9*U2*H + 16*9*H*3
    (generalised to mid channels C)."""
    c = net.mid_channels
    total = 2 * (c + 3) * c * 9
    for _, block in net.residual_blocks():
        m = block.conv1.out_channels
        total += 9 * (block.in_idx.numel() * m + m * block.out_idx.numel())
    f = net.fusion.out_channels
    u1 = net.upsample1.upsample_conv.out_channels // 4
    u2 = net.upsample2.upsample_conv.out_channels // 4
    h = net.conv_hr.out_channels
    return total + 2 * c * f + 9 * f * 4 * u1 + 4 * 9 * u1 * 4 * u2 + 16 * 9 * u2 * h + 16 * 9 * h * 3


def test_dense_basicvsr_64_30_x4_params_and_macs():
    net = SSLBasicVSRNet()  # 64 channels, 30 blocks, x4
    c = complexity(net)
    assert c['params_total'] == 6_291_311  # BasicVSR's 6.3 M (conv weights+biases, with SPyNet)
    assert c['params_without_spynet'] == 4_851_011
    assert c['params_scales'] == 11_776
    # 5,863,808 conv MACs per LR pixel at 180x320, plus the bilinear skip and the feature warps
    # that the library also counts (0.012 %: 4 per sampled or interpolated value).
    assert _conv_macs_per_pixel(net) == 5_863_808
    assert c['macs_total_without_spynet'] == pytest.approx(5_863_808 * 180 * 320, rel=2e-4)
    assert c['macs_spynet'] == pytest.approx(39.3e9, rel=1e-3)  # two flows, 192x320 pyramid
    assert c['macs_total'] == c['macs_total_without_spynet'] + c['macs_spynet']


def test_per_frame_count_equals_difference_of_whole_model_traces():
    net = SSLBasicVSRNet(8, 2).eval()
    clip = torch.rand(1, 3, 3, 40, 48)
    whole = _macs(net, (clip, )) - _macs(net, (clip[:, :2], ))
    assert macs_per_frame(net, (40, 48))['total'] == whole


def test_pruned_macs_follow_the_kept_sets():
    torch.manual_seed(0)
    net = SSLBasicVSRNet(32, 4)
    with torch.no_grad():
        for g in scale_groups(net):
            g.scale.uniform_(0.1, 1)
    compact = prune(net, pick_pruned(net, 0.5))
    size = (24, 32)
    dense_macs = macs_per_frame(net, size)['total_without_spynet']
    pruned_macs = macs_per_frame(compact, size)['total_without_spynet']
    assert pruned_macs == pytest.approx(_conv_macs_per_pixel(compact) * 24 * 32, rel=2e-3)
    assert pruned_macs < 0.6 * dense_macs
    assert macs_per_frame(compact, size)['spynet'] == macs_per_frame(net, size)['spynet']  # never pruned
    assert param_counts(compact)['without_spynet'] < param_counts(net)['without_spynet']
