# Paper profile, REDS BI x4 (docs/method.md section 7): 15 consecutive frames, 256 GT patches,
# flips/transpose, 1 sample per GPU x 8 GPUs. Clips: the upstream 266 (000-269 minus REDS4),
# listed in the meta file that `ssl_mm.data.prepare --reds <root>` writes.
data_root = 'data/REDS'
ann_file = 'data/prepared/meta/meta_info_reds_train.txt'

train_pipeline = [
    dict(type='GenerateSegmentIndices', interval_list=[1]),
    dict(type='LoadFrameChecked', key='img', channel_order='rgb'),
    dict(type='LoadFrameChecked', key='gt', channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=4)),
    dict(type='PairedRandomCrop', gt_patch_size=256),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs')
]

train_dataloader = dict(
    num_workers=4,
    batch_size=1,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BasicFramesDataset',
        metainfo=dict(dataset_type='reds', task_name='vsr'),
        data_root=data_root,
        data_prefix=dict(img='train_sharp_bicubic/X4', gt='train_sharp'),
        ann_file=ann_file,
        depth=1,
        num_input_frames=15,
        pipeline=train_pipeline))
