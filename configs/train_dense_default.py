_base_ = [
    '_base_/models/ssl_basicvsr_default.py', '_base_/schedules/train_dense.py', '_base_/datasets/embedded.py',
    '_base_/default_runtime.py'
]

model = dict(train_cfg=dict(fix_iter=100))  # SPyNet is trained from scratch here (no pretrained weights)

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(periods=[800])
train_cfg = dict(max_iters=800)
