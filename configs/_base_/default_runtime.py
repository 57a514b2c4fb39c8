default_scope = 'mmagic'
work_dir = './work_dirs/ssl_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1000, by_epoch=False, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1),
    dist_cfg=dict(backend='nccl'))

log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
randomness = dict(seed=0, deterministic=False)
load_from = None
resume = False
