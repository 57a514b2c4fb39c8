import pytest
import torch
from mmagic.models.editors.basicvsr.basicvsr_net import BasicVSRNet
from mmagic.registry import MODELS

from ssl_mm.models import ScaledConv2d, SSLBasicVSRNet, shuffle_factors


def _perturb(net: torch.nn.Module, seed: int = 0) -> None:
    """Non-zero biases and non-default weights, so equivalence is not trivially about zeros."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=gen))


@pytest.mark.parametrize('mid,blocks,mirrored', [(64, 30, False), (16, 3, False), (16, 3, True)])
def test_from_basicvsr_reproduces_mmagic_output(mid, blocks, mirrored, real_lr_clip):
    torch.manual_seed(0)
    ref = BasicVSRNet(mid_channels=mid, num_blocks=blocks).eval()
    _perturb(ref)
    ssl = SSLBasicVSRNet.from_basicvsr(ref).eval()
    clip = torch.cat([real_lr_clip, real_lr_clip.flip(1)], 1) if mirrored else real_lr_clip
    with torch.no_grad():
        expected, got = ref(clip), ssl(clip)
    assert ssl.is_mirror_extended == mirrored  # the mirrored clip reuses backward flows
    assert got.shape == (1, clip.shape[1], 3, 128, 160)
    assert (expected - got).abs().max().item() <= 1e-5
    assert all(torch.equal(p, torch.ones_like(p)) for n, p in ssl.named_parameters() if 'act_scale' in n)


def test_from_basicvsr_rejects_other_models():
    with pytest.raises(TypeError, match='BasicVSRNet'):
        SSLBasicVSRNet.from_basicvsr(SSLBasicVSRNet(8, 1))


def test_registered_in_mmagic_and_mmagic_names():
    net = MODELS.build(dict(type='SSLBasicVSRNet', mid_channels=8, num_blocks=2))
    names = dict(net.named_parameters())
    for key in ('backward_resblocks.main.0.weight', 'forward_resblocks.main.2.1.conv1.act_scale_pre',
                'forward_resblocks.main.2.1.conv2.act_scale', 'upsample1.upsample_conv.act_scale',
                'upsample2.upsample_conv.weight', 'fusion.act_scale', 'conv_hr.act_scale',
                'conv_last.weight', 'spynet.basic_module.0.basic_module.0.conv.weight'):
        assert key in names, key
    # One scale per pixel-shuffle group of r^2 = 4 filters.
    assert names['upsample1.upsample_conv.act_scale'].numel() == names['upsample1.upsample_conv.weight'].shape[0] // 4


@pytest.mark.parametrize('scale,factors', [(2, [2]), (3, [3]), (4, [2, 2]), (8, [2, 2, 2]), (6, [2, 3])])
def test_upscale_factors(scale, factors):
    assert shuffle_factors(scale) == factors
    net = SSLBasicVSRNet(8, 1, upscale_factor=scale, hr_channels=12).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 2, 3, 16, 20))
    assert out.shape == (1, 2, 3, 16 * scale, 20 * scale)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match='upscale_factor=5'):
        SSLBasicVSRNet(8, 1, upscale_factor=5)
    with pytest.raises(ValueError, match='act\\(0\\) == 0'):
        SSLBasicVSRNet(8, 1, act_cfg=dict(type='Sigmoid'))
    with pytest.raises(ValueError, match='name no scale vector'):
        SSLBasicVSRNet(8, 1, widths={'fusion.weight': 3})


def test_scale_folding_equals_ssl_formula():
    """conv(x, s_out * W * s_in) + s_out * b  ==  s_out * (conv(x * s_in, W) + b)."""
    torch.manual_seed(1)
    conv = ScaledConv2d(6, 8, 3, group_size=2, scale_input=True)
    with torch.no_grad():
        conv.act_scale.uniform_(-1, 2)
        conv.act_scale_pre.uniform_(-1, 2)
        conv.bias.normal_()
    x = torch.randn(2, 6, 9, 7)
    out_scale = conv.act_scale.repeat_interleave(2).view(1, -1, 1, 1)
    plain = torch.nn.functional.conv2d(x * conv.act_scale_pre.view(1, -1, 1, 1), conv.weight, conv.bias, padding=1)
    assert torch.allclose(conv(x), out_scale * plain, atol=1e-5)
    # Gradients reach both scale vectors.
    conv(x).square().mean().backward()
    assert conv.act_scale.grad.abs().sum() > 0 and conv.act_scale_pre.grad.abs().sum() > 0


def test_return_hidden_gives_every_step_of_both_branches(real_lr_clip):
    net = SSLBasicVSRNet(8, 2).eval()
    with torch.no_grad():
        out, hidden = net(real_lr_clip, return_hidden=True)
        assert torch.equal(out, net(real_lr_clip))
    assert len(hidden['backward']) == len(hidden['forward']) == real_lr_clip.shape[1]
    assert hidden['forward'][0].shape == (1, 8, 32, 40)
