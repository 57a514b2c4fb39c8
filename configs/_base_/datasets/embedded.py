# Default profile: the embedded real clips prepared by `python -m ssl_mm.data.prepare`
# (<prepared>/embedded/{GT,BIx4,BDx4}/<clip>/%08d.png, clips listed in meta_info_train.txt).
# Random GT patches and their LR, flips and transposes shared by all frames of a sample.
data_root = 'data/prepared/embedded'
lr_dir = 'BIx4'
# 128-pixel GT patches (32x32 LR): SPyNet pads every LR patch up to 32x32, so a 16x16 LR patch
# costs nearly as much per iteration for a quarter of the pixels (benchmarks/iteration_cost.py).
gt_patch_size = 128
num_input_frames = 5
scale = 4

# LoadDecodedFrameCached (ssl_mm/data/frame_cache.py): each frame is decoded once per process.
train_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadDecodedFrameCached', key='img', channel_order='rgb'),
    dict(type='LoadDecodedFrameCached', key='gt', channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=scale)),
    dict(type='PairedRandomCrop', gt_patch_size=gt_patch_size),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs')
]

train_dataloader = dict(
    num_workers=0,
    batch_size=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BasicFramesDataset',
        metainfo=dict(dataset_type='embedded', task_name='vsr'),
        data_root=data_root,
        data_prefix=dict(img=lr_dir, gt='GT'),
        ann_file='meta_info_train.txt',
        depth=1,
        num_input_frames=num_input_frames,
        pipeline=train_pipeline))

# No validation while training: the evaluate stage scores the held-out clips (meta_info_val.txt,
# the `embedded_bi` set) with the same Y-PSNR for every network, so validating here as well cost
# each of the 14 training stages ~3.5 s for a number reported twice. (The paper profile, like the
# released code's long runs, validates nowhere but in evaluate either.)
