"""Starting from a trained BasicVSR: MMagic's checkpoints and the SSL authors' unpruned ones,
built here in each project's own format (random weights, saved as that project saves them),
converted, and checked to compute what the original network computes; and the train_dense
stage using one (``init_from`` with ``iters: 0``), with one-line errors for a URL or a misfit."""
import contextlib
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
import yaml
from crafted import Payload
from mmagic.models.editors.basicvsr.basicvsr_net import BasicVSRNet

from ssl_mm.errors import CheckpointError
from ssl_mm.models import SSLBasicVSRNet
from ssl_mm.models.foreign import ACTIVATIONS, load_foreign, local_file, read_foreign
from ssl_mm.pruning import load_network
from ssl_mm.safe_checkpoint import load_checkpoint


def _randomise(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights, biases and SSL scales all random (identity scales would hide a mix-up)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(('act_scale', 'act_scale_pre')):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    return net.eval()


def _basicsr_state(net: SSLBasicVSRNet) -> dict:
    """``net``'s weights as the authors' BasicSR SSL-BasicVSR names them (docs/method.md 1.1):
    ``*_trunk``, ``upconv*``, SPyNet Sequential indices 0/2/4/6/8, scales (1, C, 1, 1), and none
    of ssl-mm's masks or RSC index buffers."""
    state = {}
    for name, value in net.state_dict().items():
        if name.rsplit('.', 1)[-1] in ('act_scale_mask', 'act_scale_pre_mask', 'in_idx', 'out_idx'):
            continue
        name = re.sub(r'^(backward|forward)_resblocks\.', r'\1_trunk.', name)
        name = re.sub(r'^upsample(\d)\.upsample_conv\.', r'upconv\1.', name)
        name = re.sub(r'(basic_module\.)(\d)\.conv\.', lambda m: f'{m[1]}{2 * int(m[2])}.', name)
        state[name] = value.view(1, -1, 1, 1) if name.endswith(('act_scale', 'act_scale_pre')) else value
    return state


def _outputs_equal(a: torch.nn.Module, b: torch.nn.Module, clip: torch.Tensor) -> float:
    with torch.no_grad():
        return float((a(clip) - b(clip)).abs().max())


def test_mmagic_checkpoint_converts_exactly(tmp_path, real_lr_clip):
    mmagic_net = _randomise(BasicVSRNet(mid_channels=16, num_blocks=2))
    path = tmp_path / 'basicvsr_mmagic.pth'
    torch.save({'meta': {'mmagic_version': '1.2.0', 'iter': 300000},
                'state_dict': {f'generator.{k}': v for k, v in mmagic_net.state_dict().items()}}, path)
    state, origin, activation = read_foreign(path)
    assert (origin, activation) == ('mmagic', 'leaky_relu')
    ours = SSLBasicVSRNet(16, 2, hr_channels=64, act_cfg=ACTIVATIONS['leaky_relu'])
    load_foreign(ours, state, path).eval()
    assert _outputs_equal(ours, mmagic_net, real_lr_clip) <= 1e-5


def test_ssl_authors_checkpoint_converts_exactly(tmp_path, real_lr_clip):
    authors = _randomise(SSLBasicVSRNet(16, 2, hr_channels=16, act_cfg=ACTIVATIONS['relu']), seed=1)
    basicsr = _basicsr_state(authors)
    # The names the released checkpoints use (SSL's basicvsr_arch.py).
    assert basicsr['backward_trunk.main.2.0.conv1.act_scale_pre'].shape == (1, 16, 1, 1)
    assert {'upconv1.weight', 'upconv2.act_scale', 'spynet.basic_module.5.basic_module.8.bias'} <= set(basicsr)
    path = tmp_path / 'BasicVSR-SSL-bi-unpruned.pth'
    torch.save({'params': basicsr}, path)
    state, origin, activation = read_foreign(path)
    assert (origin, activation) == ('ssl_authors', 'relu')
    ours = load_foreign(SSLBasicVSRNet(16, 2, hr_channels=16, act_cfg=ACTIVATIONS['relu']), state, path).eval()
    assert _outputs_equal(ours, authors, real_lr_clip) <= 1e-5


def test_foreign_checkpoint_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match='is a URL: ssl-mm downloads nothing at run time; fetch the file first'):
        local_file('https://download.openmmlab.com/mmediting/restorers/basicvsr/basicvsr_reds4.pth',
                   'train_dense.init_from')
    with pytest.raises(CheckpointError, match='missing.pth: file not found'):
        local_file(str(tmp_path / 'missing.pth'), 'train_dense.init_from')
    path = tmp_path / 'narrow.pth'
    torch.save({'state_dict': {f'generator.{k}': v for k, v in BasicVSRNet(16, 2).state_dict().items()}}, path)
    state, *_ = read_foreign(path)
    with pytest.raises(CheckpointError, match=r'narrow.pth does not fit the configured network \(.* is \(16, '):
        load_foreign(SSLBasicVSRNet(32, 2, hr_channels=64), state, path)
    other = tmp_path / 'other.pth'
    torch.save({'model': {}}, other)
    with pytest.raises(CheckpointError, match='neither an MMagic BasicVSR checkpoint'):
        read_foreign(other)


def test_train_dense_uses_an_authors_checkpoint_as_the_dense_model(repo, prepared_dir, tmp_path, real_lr_clip):
    """``init_from`` + ``iters: 0``: the stage converts, checks and saves the network as the dense
    model (ReLU from the weights' origin, saved in its config), training nothing."""
    root = tmp_path / 'repo'
    shutil.copytree(repo / 'ssl_mm', root / 'ssl_mm', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copytree(repo / 'configs', root / 'configs')
    authors = _randomise(SSLBasicVSRNet(16, 4, hr_channels=16, act_cfg=ACTIVATIONS['relu']), seed=2)
    torch.save({'params': _basicsr_state(authors)}, tmp_path / 'unpruned.pth')
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['data'].update(prepared=str(prepared_dir), vid4_gt=None)
    params['train_dense'].update(iters=0, init_from=str(tmp_path / 'unpruned.pth'))

    def stage(**dense):
        params['train_dense'].update(dense)
        (root / 'params.yaml').write_text(yaml.safe_dump(params))
        return subprocess.run([sys.executable, '-m', 'ssl_mm.stages.train_dense', 'dense', '--seed', '0'], cwd=root,
                              capture_output=True, text=True, timeout=600, env=dict(os.environ, MPLBACKEND='Agg'))

    result = stage()
    assert result.returncode == 0, result.stderr[-3000:]
    dense = root / 'models' / 'dense' / 'bi-seed0' / 'dense'
    net = load_network(f'{dense}.py', f'{dense}.pth').eval()
    assert net.arch['act_cfg'] == ACTIVATIONS['relu']
    assert _outputs_equal(net, authors, real_lr_clip) <= 1e-5
    written = (root / 'models' / 'dense' / 'bi-seed0' / 'dense.pth').read_bytes()

    marker = tmp_path / 'pwned'
    torch.save({'params': _basicsr_state(authors), 'model': Payload(os.system, f'touch {marker}')},
               tmp_path / 'crafted.pth')
    for dense_params, fragment in [
            (dict(init_from='https://example.org/BasicVSR-SSL-bi-unpruned.pth'), 'is a URL'),
            (dict(init_from=str(tmp_path / 'unpruned.pth'), spynet_pretrained=str(tmp_path / 'no_spynet.pth')),
             'no_spynet.pth: file not found'),
            (dict(init_from=str(tmp_path / 'crafted.pth'), spynet_pretrained=None), 'crafted.pth: refused'),
            (dict(init_from=None, iters=1, spynet_pretrained=str(tmp_path / 'crafted.pth')), 'crafted.pth: refused')]:
        result = stage(**dense_params)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr[-3000:]
        assert len([line for line in result.stderr.splitlines() if line.startswith('error: ')]) == 1
        assert (root / 'models' / 'dense' / 'bi-seed0' / 'dense.pth').read_bytes() == written  # nothing overwritten
    assert not marker.exists()  # no code in the crafted file ran


# ---------------------------------------------------------------- the authors' pruned checkpoint
# Their pickled network: a BasicSR class with torch.nn submodules, from a module that is not
# importable where the file is read.
BASICSR_ARCH = ('import torch\n\n\nclass BasicVSR(torch.nn.Module):\n    def __init__(self):\n'
                '        super().__init__()\n        self.fusion = torch.nn.Conv2d(2, 2, 1)\n'
                '        self.lrelu = torch.nn.LeakyReLU(0.1)\n')


def _permute_units(state: dict, producer: str, consumer: str, group: int, gen: torch.Generator | None) -> torch.Tensor:
    """Reorder ``producer``'s output units (``group`` filters each) and ``consumer``'s matching
    input channels alike (``gen`` None: keep their order): the function is unchanged."""
    weight = state[f'{producer}.weight']
    units = weight.shape[0] // group
    order = torch.arange(units) if gen is None else torch.randperm(units, generator=gen)
    rows = (order.view(-1, 1) * group + torch.arange(group)).flatten()
    state[f'{producer}.weight'], state[f'{producer}.bias'] = weight[rows], state[f'{producer}.bias'][rows]
    state[f'{consumer}.weight'] = state[f'{consumer}.weight'][:, order]  # after a pixel shuffle, unit u is channel u
    return order


@contextlib.contextmanager
def _basicsr_network(tmp_path):
    """An instance of a BasicSR network class while its module is importable (pickling needs
    it); afterwards it is gone, as where the file is read."""
    package = tmp_path / 'basicsr' / 'archs'
    package.mkdir(parents=True)
    (tmp_path / 'basicsr' / '__init__.py').write_text('')
    (package / '__init__.py').write_text('')
    (package / 'basicvsr_arch.py').write_text(BASICSR_ARCH)
    sys.path.insert(0, str(tmp_path))
    try:
        from basicsr.archs.basicvsr_arch import BasicVSR
        yield BasicVSR()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == 'basicsr' or m.startswith('basicsr.')]:
            del sys.modules[name]
        shutil.rmtree(tmp_path / 'basicsr')


def _authors_pruned_checkpoint(pruned: SSLBasicVSRNet, path, tmp_path, final: bool = True,
                               lists: str = 'sorted') -> None:
    """``pruned`` saved as the authors' pruner saves it (their Pruner._save_model, under DDP):
    BasicSR names with ``module.``, scales folded into sliced weights, and their pickled network
    object. The kept lists are picked in score order (shuffled here) and then, as their
    ``get_kept_filter_channel`` does in place before every V2/V3 slice, sorted: the weights follow
    ascending channel order and the saved lists are sorted. ``lists='shuffled'``: a hand-made
    file (not their pruner's output) whose lists were left in score order, with each block's and
    the head's inner channels reordered to match; the importer must convert it alike.
    ``final=False``: the V2 file before finetuning, each conv2 at full width with its masked scale."""
    gen = torch.Generator().manual_seed(3)
    shuffled = gen if lists == 'shuffled' else None
    state = {k: v.clone() for k, v in _basicsr_state(pruned).items() if not k.endswith(('act_scale', 'act_scale_pre'))}
    kept, kept_pre, full = {}, {}, pruned.mid_channels

    def picked(indices: list[int]) -> list[int]:
        in_score_order = [indices[i] for i in torch.randperm(len(indices), generator=gen)]
        return in_score_order if shuffled else sorted(in_score_order)  # their kept_filter.sort()

    for name, block in pruned.residual_blocks():
        theirs = name.replace('_resblocks', '_trunk')
        order = _permute_units(state, f'{theirs}.conv1', f'{theirs}.conv2', 1, shuffled)
        kept[f'{theirs}.conv1'] = [int(i) for i in order]  # any units of the 64 will do: only the count is read
        kept_pre[f'{theirs}.conv1'] = picked(block.in_idx.tolist())
        kept[f'{theirs}.conv2'] = picked(block.out_idx.tolist())
        if not final:
            weight, bias = state[f'{theirs}.conv2.weight'], state[f'{theirs}.conv2.bias']
            wide_w, wide_b = torch.randn(full, *weight.shape[1:], generator=gen), torch.randn(full, generator=gen)
            wide_w[block.out_idx], wide_b[block.out_idx] = weight, bias
            scale = torch.zeros(full)
            scale[block.out_idx] = 1.0
            state.update({f'{theirs}.conv2.weight': wide_w, f'{theirs}.conv2.bias': wide_b,
                          f'{theirs}.conv2.act_scale': scale.view(1, -1, 1, 1)})
    for producer, consumer, group in (('fusion', 'upconv1', 1), ('upconv1', 'upconv2', 4), ('upconv2', 'conv_hr', 4),
                                      ('conv_hr', 'conv_last', 1)):
        kept[producer] = [int(i) for i in _permute_units(state, producer, consumer, group, shuffled)]
    with _basicsr_network(tmp_path) as network:
        torch.save({'pruned_wg': {}, 'kept_wg': {f'module.{k}': v for k, v in kept.items()}, 'pruned_wg_pre': {},
                    'kept_wg_pre': {f'module.{k}': v for k, v in kept_pre.items()}, 'model': network,
                    'state_dict': {f'module.{k}': v for k, v in state.items()}}, path)


@pytest.mark.parametrize('final, lists', [(True, 'sorted'), (False, 'sorted'), (True, 'shuffled')],
                         ids=['model_prune_final', 'model_prune_optimization', 'hand_made_unsorted_lists'])
def test_authors_pruned_checkpoint_converts_exactly(tmp_path, real_lr_clip, final, lists):
    from ssl_mm.flops import complexity
    from ssl_mm.models.authors_pruned import authors_pruned_network
    from ssl_mm.pruning import pick_pruned, prune
    sparsified = _randomise(SSLBasicVSRNet(16, 2, hr_channels=64, act_cfg=ACTIVATIONS['relu']), seed=4)
    pruned = prune(sparsified, pick_pruned(sparsified, 0.5)).eval()
    path = tmp_path / 'model_prune_final.pt'
    _authors_pruned_checkpoint(pruned, path, tmp_path, final, lists)
    assert 'basicsr.archs.basicvsr_arch.BasicVSR' in torch.serialization.get_unsafe_globals_in_checkpoint(path)
    converted = authors_pruned_network(path)
    assert converted.arch == pruned.arch  # same widths, ReLU, 64-unit HR branch
    assert complexity(converted) == complexity(pruned)
    assert _outputs_equal(converted, pruned, real_lr_clip) <= 1e-5


def _authors_fixture(tmp_path):
    """A pruned network (random weights, ReLU, the authors' 64-unit HR branch) and its
    ``model_prune_final.pt`` in the authors' format."""
    from ssl_mm.pruning import pick_pruned, prune
    sparsified = _randomise(SSLBasicVSRNet(16, 2, hr_channels=64, act_cfg=ACTIVATIONS['relu']), seed=5)
    pruned = prune(sparsified, pick_pruned(sparsified, 0.5)).eval()
    (tmp_path / 'authors').mkdir()
    path = tmp_path / 'authors' / 'model_prune_final.pt'
    _authors_pruned_checkpoint(pruned, path, tmp_path)
    return pruned, path


def test_ssl_mm_import_writes_a_pair_every_loader_takes(tmp_path, real_lr_clip):
    pruned, path = _authors_fixture(tmp_path)
    cli = [sys.executable, '-m', 'ssl_mm.cli', 'import']
    result = subprocess.run([*cli, str(path), '--out', str(tmp_path / 'out')], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'authors.pth' in result.stdout and 'GMACs/frame' in result.stdout
    for config in ('authors.py', 'authors_mmagic.py'):  # ssl-mm's own config and MMagic's
        net = load_network(tmp_path / 'out' / config, tmp_path / 'out' / 'authors.pth').eval()
        assert _outputs_equal(net, pruned, real_lr_clip) <= 1e-5
    for bad, fragment in ((str(tmp_path / 'missing.pt'), 'missing.pt: file not found'),
                          ('https://example.org/model_prune_final.pt', 'is a URL'),
                          (str(tmp_path / 'out' / 'authors.pth'), 'not an SSL-authors pruned checkpoint')):
        result = subprocess.run([*cli, bad, '--out', str(tmp_path / 'bad')], capture_output=True, text=True)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr[-2000:]
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / 'bad').exists()


def test_evaluate_authors_stage_scores_their_checkpoint_beside_ours(repo, prepared_dir, tmp_path, real_lr_clip,
                                                                    monkeypatch):
    """params.yaml names the file; the stage converts it, scores it on the sets of its
    degradation with this run's protocol, costs it against a dense network of its size, and
    the report's table gets its row."""
    from ssl_mm.eval import PROTOCOLS
    from ssl_mm.eval.benchmark_sets import load_test_set
    from ssl_mm.eval.evaluate import evaluate, network_upscaler, summarize
    from ssl_mm.reports.results import collect
    from ssl_mm.reports.tables import build_paper_table
    pruned, path = _authors_fixture(tmp_path)
    root = tmp_path / 'repo'
    shutil.copytree(repo / 'ssl_mm', root / 'ssl_mm', ignore=shutil.ignore_patterns('__pycache__'))
    params = yaml.safe_load((repo / 'params.yaml').read_text())
    params['data'].update(prepared=str(prepared_dir), vid4_gt=None)
    params['evaluate']['sets'] = ['embedded_bi', 'embedded_bd']
    params['speed'].update(lr_size=[64, 64], frames=2, repeats=1)
    params['authors']['checkpoints'] = {'reds': {'path': str(path), 'degradation': 'bi'}}
    (root / 'params.yaml').write_text(yaml.safe_dump(params))

    def stage(name):
        return subprocess.run([sys.executable, '-m', 'ssl_mm.stages.evaluate_authors', name], cwd=root,
                              capture_output=True, text=True, timeout=600, env=dict(os.environ, MPLBACKEND='Agg'))

    result = stage('reds')
    assert result.returncode == 0, result.stderr[-3000:]
    out = root / 'metrics' / 'eval' / 'ssl_authors' / 'reds'
    metrics = yaml.safe_load((out / 'metrics.json').read_text())
    assert set(metrics['ssl_authors']) == {'embedded_bi'}  # a BI model meets BI LR only
    clips = load_test_set('embedded_bi', str(prepared_dir), params['data'])
    direct = summarize(evaluate({'pruned': network_upscaler(pruned)}, clips, PROTOCOLS['embedded_bi']))
    assert abs(metrics['ssl_authors']['embedded_bi']['psnr_y'] - direct['psnr_y'].iloc[0]) < 1e-3
    cost = yaml.safe_load((out / 'cost.json').read_text())
    assert abs(cost['prune_ratio'] - 0.5) < 0.01 and cost['mac_ratio'] > 1 and cost['cpu_speedup'] > 0
    converted = root / 'models' / 'ssl_authors' / 'reds' / 'pruned'
    assert _outputs_equal(load_network(f'{converted}.py', f'{converted}.pth'), pruned, real_lr_clip) <= 1e-5

    monkeypatch.chdir(root)
    table = build_paper_table(*collect(params), params).set_index('method')
    row = table.loc["SSL, the authors' checkpoint 'reds'"]
    assert row['prune ratio'] == cost['prune_ratio'] and row['embedded_bi'].startswith(
        f"{metrics['ssl_authors']['embedded_bi']['psnr_y']:.2f} / ")
    assert row['embedded_bd'] == 'not run'  # no BD model of theirs was named

    written = (out / 'metrics.json').read_bytes()
    marker = tmp_path / 'pwned'
    crafted = tmp_path / 'crafted' / 'model_prune_final.pt'
    crafted.parent.mkdir()
    torch.save({**load_checkpoint(path), 'model': Payload(os.system, f'touch {marker}')}, crafted)
    params['authors']['checkpoints']['crafted'] = {'path': str(crafted), 'degradation': 'bi'}
    (root / 'params.yaml').write_text(yaml.safe_dump(params))
    path.write_bytes(path.read_bytes()[:1000])  # a truncated download
    for name, fragment in (('vimeo', "authors.checkpoints has no entry 'vimeo'"),
                           ('reds', 'model_prune_final.pt: not a readable checkpoint'),
                           ('crafted', 'model_prune_final.pt: refused: the file asks for the Python global posix.system')):
        result = stage(name)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr[-3000:]
        assert len([line for line in result.stderr.splitlines() if line.startswith('error: ')]) == 1
    assert (out / 'metrics.json').read_bytes() == written  # nothing overwritten
    assert not marker.exists() and not (root / 'metrics' / 'eval' / 'ssl_authors' / 'crafted').exists()


def test_lite_continues_only_from_a_lite_of_its_width_that_records_its_training(tmp_path):
    """``baselines.lite_init_from``: the weights load into BasicVSR-lite narrowed to this run's
    target MACs (the checkpoint's width where the target lies between it and the next one, as
    another seed's SSL MACs may) and the checkpoint's iterations count towards lite's budget;
    another width, or a file that does not say how long it was trained, is one line naming the key
    and the fix."""
    from ssl_mm.flops import macs_per_frame
    from ssl_mm.pruning.checkpoint import model_config, save_network
    from ssl_mm.stages.train_dense import SEARCH_LR_SIZE, lite_start
    dense = model_config(SSLBasicVSRNet(16, 1, hr_channels=16))

    def macs(width):
        return macs_per_frame(SSLBasicVSRNet(width, 1, hr_channels=width), SEARCH_LR_SIZE)['total_without_spynet']
    lite = _randomise(SSLBasicVSRNet(8, 1, hr_channels=8), seed=3)
    save_network(lite, tmp_path, 'lite', meta=dict(stage='train_lite', trained_iters=640))
    for target in (macs(8), 0.3 * macs(8) + 0.7 * macs(9), 0.7 * macs(7) + 0.3 * macs(8)):
        generator, net, trained = lite_start(tmp_path / 'lite.pth', dense, target)
        assert generator['mid_channels'] == 8 and trained == 640
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), lite.state_dict().values()))
    with pytest.raises(CheckpointError, match=r'^baselines\.lite_init_from=.*lite\.pth: not BasicVSR-lite at SSL\'s '
                                              r'MACs here \(.*\); set baselines\.lite_init_from: null to train'):
        lite_start(tmp_path / 'lite.pth', dense, macs(10))
    save_network(lite, tmp_path, 'untold', meta=dict(stage='train_lite'))
    with pytest.raises(CheckpointError, match=r'untold\.pth: records no trained_iters'):
        lite_start(tmp_path / 'untold.pth', dense, macs(8))
