# Paper profile, Vimeo-90K x4 (docs/method.md section 7): septuplets mirrored to 14 frames,
# 256 GT patches, 1 sample per GPU x 8 GPUs. BI by default; BD: data_prefix img='BDx4'.
# Clips: the official sep_trainlist.txt (64,612), as the meta file `ssl_mm.data.prepare
# --vimeo90k <root>` writes (SSL's own list overlaps Vimeo-90K-T and is not used).
data_root = 'data/vimeo90k'
ann_file = 'data/prepared/meta/meta_info_vimeo90k_train.txt'
file_list = [f'im{i}.png' for i in range(1, 8)]

train_pipeline = [
    dict(type='LoadFrameChecked', key='img', channel_order='rgb'),
    dict(type='LoadFrameChecked', key='gt', channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=4)),
    dict(type='PairedRandomCrop', gt_patch_size=256),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='MirrorSequence', keys=['img', 'gt']),
    dict(type='PackInputs')
]

train_dataloader = dict(
    num_workers=4,
    batch_size=1,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BasicFramesDataset',
        metainfo=dict(dataset_type='vimeo90k_seq', task_name='vsr'),
        data_root=data_root,
        data_prefix=dict(img='BIx4', gt='GT'),
        ann_file=ann_file,
        depth=2,
        num_input_frames=7,
        fixed_seq_len=7,
        load_frames_list=dict(img=file_list, gt=file_list),
        pipeline=train_pipeline))
