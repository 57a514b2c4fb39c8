# Stage A of SSL: the regularised pruning search (docs/method.md section 5).
# Constant Adam 2e-4 (betas 0.9/0.99), SpyNet frozen throughout, Charbonnier, no EMA.
optim_wrapper = dict(
    type='SparsityOptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
    paramwise_cfg=dict(custom_keys={'spynet': dict(lr_mult=0.125)}))

ssl_reg = dict(
    type='SSLRegularizationHook',
    ratio=0.5,
    criterion='scale',
    step=1e-4,
    ceiling=0.1,
    update_interval=5,
    stabilize_iters=14000)
custom_hooks = [ssl_reg]

# 1,000 increments x 5 iterations of ramp + 14,000 of stabilisation.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=19000)
