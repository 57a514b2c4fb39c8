_base_ = [
    '_base_/models/ssl_basicvsr_default.py', '_base_/schedules/finetune.py', '_base_/datasets/embedded.py',
    '_base_/default_runtime.py'
]

model = dict(type='TemporalFinetuneBasicVSR', lambda_tf=0.0, train_cfg=dict(fix_iter=100))

optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = dict(periods=[800])
train_cfg = dict(max_iters=800, val_interval=400)
