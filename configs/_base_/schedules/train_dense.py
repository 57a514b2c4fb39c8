# The unpruned SSL-BasicVSR (learnable scales) trained as BasicVSR is: Adam 2e-4 (0.9, 0.99),
# cosine to 1e-7 over 300k iterations, SpyNet lr x0.125 and frozen for the first 5k.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
    paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125)}))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[300000],
                       restart_weights=[1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=5000)
