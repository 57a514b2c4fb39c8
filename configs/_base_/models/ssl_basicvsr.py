# SSL-BasicVSR inside MMagic's BasicVSR editor. Paper settings: 64 channels, 30 blocks, x4.
# ssl_mm.models registers the networks; ssl_mm.pruning the SSL hook and optim wrapper; tracking the
# MLflow backend; frame_cache the default profile's frame loader (one custom_imports per config
# tree: mmengine refuses two).
custom_imports = dict(imports=['ssl_mm.models', 'ssl_mm.pruning', 'ssl_mm.tracking', 'ssl_mm.data.frame_cache'],
                      allow_failed_imports=False)

model = dict(
    type='BasicVSR',
    generator=dict(
        type='SSLBasicVSRNet',
        mid_channels=64,
        num_blocks=30,
        upscale_factor=4,
        hr_channels=64,
        # Replaced by train_dense from params.yaml's train_dense.activation (docs/method.md section 7);
        # later stages build from the dense network's saved config.
        act_cfg=dict(type='ReLU')),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(fix_iter=5000),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
