# Paper profile: SSL's published settings (64 channels, 30 blocks, x4, REDS 15-frame 256-patch
# clips, 1 sample per GPU x 8 GPUs), launched with torchrun by the pipeline stage when GPUs exist.
_base_ = [
    '_base_/models/ssl_basicvsr.py', '_base_/schedules/train_dense.py', '_base_/datasets/reds.py',
    '_base_/default_runtime.py'
]

default_hooks = dict(checkpoint=dict(interval=5000), logger=dict(interval=100))
