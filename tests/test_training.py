"""Real training through mmengine's Runner: MMagic's BasicVSR editor, the SSL hook and optim
wrapper, real frames from disk."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ssl_mm.errors import ArgumentError, ParamsError
from ssl_mm.pruning import SparsityOptimWrapper, final_pruned_set, load_network, prune, save_network
from ssl_mm.pruning.regularization import STATE_KEY


def _stage_cfg(repo, config, data_root, work_dir, max_iters, hooks):
    """A default-profile stage config on the test's frames: ``max_iters`` iterations, one
    checkpoint at the end, ``hooks`` as its custom hooks."""
    cfg = Config.fromfile(str(repo / 'configs' / config))
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.custom_hooks = hooks
    return cfg


def _cfg(repo, data_root, work_dir, max_iters):
    cfg = _stage_cfg(repo, 'sparsify_default.py', data_root, work_dir, max_iters,
                     [dict(type='SSLRegularizationHook', ratio=0.5, step=0.05, ceiling=0.2,
                           update_interval=2, stabilize_iters=max_iters, interval=5)])
    cfg.train_dataloader.dataset.data_prefix = dict(img='BDx4', gt='GT')
    return cfg


def _clip(root, sub, crop):
    """Frames 0-3 of clip '000' under ``root/sub``, cropped, as a (1, 4, 3, h, w) tensor."""
    frames = [cv2.imread(str(root / sub / '000' / f'{i:08d}.png'))[crop][:, :, ::-1] for i in range(4)]
    return torch.from_numpy(np.stack(frames).copy()).permute(0, 3, 1, 2).float().div(255)[None]


def _charbonnier(net, lr, gt):
    with torch.no_grad():
        return torch.sqrt((net(lr) - gt) ** 2 + 1e-12).mean().item()


def test_sparsify_trains_on_real_frames_and_checkpoints_its_state(repo, frames_dataset, tmp_path):
    torch.manual_seed(0)
    runner = Runner.from_cfg(_cfg(repo, frames_dataset, tmp_path / 'run', max_iters=60))
    net = runner.model.generator
    # A fixed real clip (the loss on random crops is too noisy to compare): GT 128x192, LR /4.
    gt_t = _clip(frames_dataset, 'GT', np.s_[96:224, 64:256])
    lr_t = _clip(frames_dataset, 'BDx4', np.s_[24:56, 16:64])
    before = _charbonnier(net, lr_t, gt_t)

    runner.train()

    after = _charbonnier(net, lr_t, gt_t)
    assert after < 0.9 * before, (before, after)
    assert isinstance(runner.optim_wrapper, SparsityOptimWrapper)
    # The penalty schedule was logged, and the penalised scales were pushed below the others.
    hub = runner.message_hub
    assert hub.get_scalar('train/ssl_lambda').current() == 0.2
    assert hub.get_scalar('train/ssl_picked_scale_mean').current() < hub.get_scalar('train/ssl_kept_scale_mean').current()
    # The picked set is in the checkpoint and restores into a new hook.
    ckpt = torch.load(tmp_path / 'run' / 'iter_60.pth', map_location='cpu', weights_only=False)
    hook = [h for h in runner.hooks if type(h).__name__ == 'SSLRegularizationHook'][0]
    assert set(ckpt[STATE_KEY]['picked']) == set(hook.picked)
    fresh = type(hook)(ratio=0.5)
    fresh.after_load_checkpoint(runner, ckpt)
    assert all(torch.equal(fresh.picked[k], v.cpu()) for k, v in hook.picked.items())
    with pytest.raises(ValueError, match='ratio=0.5.*ratio=0.3'):
        type(hook)(ratio=0.3).after_load_checkpoint(runner, ckpt)

    # The prune stage removes exactly the penalised set by default; 'rerank' ranks the final
    # scales again (the released code), which after a short search may differ.
    state = ckpt[STATE_KEY]
    pruned = final_pruned_set(net, state)
    assert all(torch.equal(pruned[k].cpu(), v) for k, v in state['picked'].items())
    reranked = final_pruned_set(net, state, 'rerank')
    assert sum(int(m.sum()) for m in reranked.values()) == sum(int(m.sum()) for m in pruned.values())
    with pytest.raises(ValueError, match='final_pick'):
        final_pruned_set(net, state, 'latest')

    # Masked and physical agree on real frames, and the compact model survives save/load.
    net.eval()
    masked, compact = prune(net, pruned=pruned, physical=False), prune(net, pruned=pruned)
    with torch.no_grad():
        assert (masked(lr_t) - compact(lr_t)).abs().max().item() <= 1e-4
    loaded = load_network(*save_network(compact, tmp_path / 'pruned'))
    with torch.no_grad():
        assert torch.equal(loaded(lr_t), compact(lr_t))


def test_an_aligned_search_penalises_the_aligned_set_the_prune_stage_removes(repo, frames_dataset, tmp_path):
    """prune.align reaches the search: SSL penalises what it will prune, so the picked set keeps
    a multiple of 4 units per vector, 'rerank' keeps the alignment, and a resumed search must
    have been aligned the same way."""
    cfg = _cfg(repo, frames_dataset, tmp_path / 'run', max_iters=4)
    cfg.custom_hooks[0].update(align=4)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = torch.load(tmp_path / 'run' / 'iter_4.pth', map_location='cpu', weights_only=False)
    state, net = ckpt[STATE_KEY], runner.model.generator
    for pruned in (final_pruned_set(net, state), final_pruned_set(net, state, 'rerank')):
        assert all(int((~mask).sum()) % 4 == 0 for mask in pruned.values())
    hook = [h for h in runner.hooks if type(h).__name__ == 'SSLRegularizationHook'][0]
    with pytest.raises(ValueError, match='align=4, but this run asks align=1'):
        type(hook)(ratio=0.5).after_load_checkpoint(runner, ckpt)


def test_sparsity_hook_without_its_optim_wrapper_is_a_one_line_config_error(repo, frames_dataset, tmp_path):
    cfg = _cfg(repo, frames_dataset, tmp_path / 'run', max_iters=2)
    cfg.optim_wrapper.type = 'OptimWrapper'  # the penalty would silently never be applied
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ArgumentError, match="optim_wrapper='OptimWrapper' cannot add the penalty: .*"
                                            "set optim_wrapper.type='SparsityOptimWrapper'"):
        runner.train()


def test_shared_frozen_spynet_flows_train_bit_identically_from_the_cache(repo, frames_dataset, tmp_path):
    """The default profile's sparsify/finetune/lite stages share their frozen SPyNet's flows: a
    stage that finds its batches' flows cached trains to the very same weights without running
    SPyNet once."""
    cache = tmp_path / 'flows'
    hook = [dict(type='SharedFrozenSpyNetFlowsHook', cache_dir=str(cache))]

    def train(name, hooks, max_iters=4, lambda_tf=0.0):
        cfg = _stage_cfg(repo, 'finetune_default.py', frames_dataset, tmp_path / name, max_iters, hooks)
        cfg.model.lambda_tf = lambda_tf
        runner = Runner.from_cfg(cfg)
        editor, calls = runner.model, []
        if lambda_tf:  # Temporal Finetuning: a frozen teacher (here the initial network) runs on each batch too
            editor.set_teacher(copy.deepcopy(editor.generator))
        for net in filter(None, (editor.generator, editor.teacher)):
            net.spynet.register_forward_hook(lambda *_: calls.append(1))
        runner.train()
        trained_calls = len(calls)
        with torch.no_grad():  # once trained, the network runs SPyNet again (it is timed next)
            editor.generator(torch.rand(1, 2, 3, 32, 32))
        assert len(calls) > trained_calls
        return editor.generator.state_dict(), trained_calls

    plain, plain_calls = train('plain', [])
    filled, filled_calls = train('fills', hook)
    files = sorted(cache.rglob('*.pt'))
    reused, reused_calls = train('reuses', hook)
    assert plain_calls == filled_calls > 0 and len(files) == 4  # one entry per iteration's batch
    assert reused_calls == 0 and sorted(cache.rglob('*.pt')) == files
    for weights in (filled, reused):
        assert all(torch.equal(weights[k], plain[k]) for k in plain)
    # The teacher of Temporal Finetuning reads the same flows.
    tf, tf_calls = train('tf', [], lambda_tf=0.1)
    tf_cached, tf_cached_calls = train('tf_cached', hook, lambda_tf=0.1)
    assert tf_calls == 2 * plain_calls and tf_cached_calls == 0
    assert all(torch.equal(tf_cached[k], tf[k]) for k in tf)
    # A longer run computes only its new batches' flows.
    _, longer_calls = train('longer', hook, max_iters=6)
    assert longer_calls == 2 * plain_calls // 4 and len(list(cache.rglob('*.pt'))) == 6

    # A SPyNet that trains would make the cache key stale: refused in one line.
    cfg = _stage_cfg(repo, 'finetune_default.py', frames_dataset, tmp_path / 'trains_spynet', 4, hook)
    cfg.model.train_cfg.fix_iter = 2
    with pytest.raises(ParamsError, match=r'fix_iter=2 < max_iters=4: remove the hook or raise fix_iter'):
        Runner.from_cfg(cfg).train()
