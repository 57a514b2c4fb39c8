# CPU-sized sparsification search on the embedded clips: the same code path as the paper
# profile, narrower, shorter and with a faster penalty ramp.
_base_ = [
    '_base_/schedules/sparsify.py', '_base_/datasets/embedded.py', '_base_/default_runtime.py'
]

model = dict(generator=dict(mid_channels=16, num_blocks=3, hr_channels=16))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
custom_hooks = [dict(type='SSLRegularizationHook', ratio=0.5, step=0.02, ceiling=0.1,
                     update_interval=5, stabilize_iters=25)]
train_cfg = dict(max_iters=50)
