default_scope = 'mmagic'
work_dir = './work_dirs/ssl_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Every checkpoint is written to a temp file and renamed (ssl_mm.training.resume.AtomicCheckpointRunner).
    checkpoint=dict(type='CheckpointHook', interval=500, by_epoch=False, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1),
    dist_cfg=dict(backend='nccl'))  # under torchrun: gloo on CPU (ssl_mm.training.distributed.set_distributed)
# Several processes (DDP): SPyNet is frozen for the first fix_iter iterations (MMagic's BasicVSR
# switches requires_grad after DDP is built), so DDP must not wait for gradients it never gets.
find_unused_parameters = True

# Training scalars go to the local log and to the MLflow run the pipeline stage opened.
visualizer = dict(
    type='Visualizer',
    vis_backends=[dict(type='LocalVisBackend'), dict(type='MLflowActiveRunBackend')])

log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
randomness = dict(seed=0, deterministic=False)
load_from = None
resume = False
