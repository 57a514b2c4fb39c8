# Stage B of SSL: finetune the pruned model (docs/method.md section 7): Adam 2e-4 cosine to 1e-7
# over 300k iterations, SpyNet lr x0.125 and frozen for 5k, scale vectors not trained (the
# released code excludes act_scale from the optimizer). Loss: Charbonnier, plus lambda_tf * L_tf
# (Temporal Finetuning, ssl-mm's definition; 0 = the released code).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
    paramwise_cfg=dict(custom_keys={
        'spynet': dict(lr_mult=0.125),
        'act_scale': dict(lr_mult=0.0)
    }))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[300000],
                       restart_weights=[1], eta_min=1e-7)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300000, val_interval=5000)
