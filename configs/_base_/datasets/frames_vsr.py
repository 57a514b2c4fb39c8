# Training clips in the BasicSR/MMagic frame-folder layout: <data_root>/<gt_dir>/<clip>/%08d.png
# and <data_root>/<lr_dir>/<clip>/%08d.png, clips listed in <data_root>/<ann_file>.
data_root = 'data/embedded'
gt_dir = 'GT'
lr_dir = 'BDx4'
ann_file = 'meta_info_train.txt'
gt_patch_size = 64
num_input_frames = 5
scale = 4

train_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
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
        metainfo=dict(dataset_type='frames', task_name='vsr'),
        data_root=data_root,
        data_prefix=dict(img=lr_dir, gt=gt_dir),
        ann_file=ann_file,
        depth=1,
        num_input_frames=num_input_frames,
        pipeline=train_pipeline))
