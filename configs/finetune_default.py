_base_ = [
    '_base_/models/ssl_basicvsr_default.py', '_base_/schedules/finetune.py', '_base_/datasets/embedded.py',
    '_base_/default_runtime.py'
]

# SPyNet stays the dense model's, frozen (as in the search): every compared model shares it, and a
# frozen SPyNet halves the cost of an iteration on the CPU.
model = dict(type='TemporalFinetuneBasicVSR', lambda_tf=0.0, train_cfg=dict(fix_iter=10**9))
custom_hooks = [dict(type='SharedFrozenSpyNetFlowsHook')]  # so its flows come from ssl_mm/models/flow_cache.py

optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = dict(periods=[300])
train_cfg = dict(max_iters=300)
