# CPU-sized sparsity search on the embedded clips: the same code path as the paper profile,
# narrower, shorter and with a faster penalty ramp (0.005 per 5 iterations up to 0.1).
_base_ = [
    '_base_/models/ssl_basicvsr_default.py', '_base_/schedules/sparsify.py', '_base_/datasets/embedded.py',
    '_base_/default_runtime.py'
]

model = dict(train_cfg=dict(fix_iter=10**9))  # SpyNet frozen for the whole search

# SSL runs 19k iterations at lr 2e-4; Adam moves a scale by at most ~lr per step, so this 200-step
# search raises the lr (and the scales' lr x5) for the penalised scales to actually approach 0.
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125), 'act_scale': dict(lr_mult=5.0)}))
custom_hooks = [dict(type='SSLRegularizationHook', ratio=0.5, step=0.005, ceiling=0.1,
                     update_interval=5, stabilize_iters=100),
                # SPyNet frozen: flows shared with the other stages of the seed (ssl_mm/models/flow_cache.py)
                dict(type='SharedFrozenSpyNetFlowsHook')]
train_cfg = dict(max_iters=200)
