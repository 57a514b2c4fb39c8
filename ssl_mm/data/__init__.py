from .degradations import bd_degrade
from .layout import write_frames_dataset
from .video import EMBEDDED_CLIPS, embedded_clip_path, read_video

__all__ = ['EMBEDDED_CLIPS', 'bd_degrade', 'embedded_clip_path', 'read_video', 'write_frames_dataset']
