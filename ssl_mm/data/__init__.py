from .degradations import DEGRADATIONS, bd_degrade, imresize_matlab
from .layout import write_frames_dataset
from .video import EMBEDDED_CLIPS, embedded_clip_path, read_video

__all__ = ['DEGRADATIONS', 'EMBEDDED_CLIPS', 'bd_degrade', 'imresize_matlab', 'embedded_clip_path', 'read_video', 'write_frames_dataset']
