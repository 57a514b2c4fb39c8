"""Per-test-set evaluation protocols (docs/method.md section 8), recorded with every number.

* REDS4: PSNR on RGB; SSIM reported on RGB *and* on Y (the released code used Y), labelled.
* Vid4 (BI, BD), UDM10 (BD): Y channel, no border crop.
* Vimeo-90K-T (BI, BD): Y channel, mirrored input (``flip_seq``), centre frame only.
* ``flip_seq`` is an explicit per-set switch; SSL's released configs use it on Vid4-BI only.
* Averages: over the frames of a clip, then over clips.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Protocol:
    name: str
    psnr_on: tuple[str, ...] = ('Y', )  # 'Y' (BT.601, 16-235) and/or 'RGB'
    ssim_on: tuple[str, ...] = ('Y', )
    crop_border: int = 0
    flip_seq: bool = False  # run clip + reversed clip, average output t with 2n-1-t
    center_frame_only: bool = False
    max_seq_len: int | None = None  # run long clips in chunks of this many frames
    max_frames: int | None = None  # score only the first N frames of each clip (quick checks, not published numbers)

    def describe(self) -> dict:
        return asdict(self)

    def with_overrides(self, **overrides) -> 'Protocol':
        unknown = set(overrides) - set(asdict(self))
        if unknown:
            raise ValueError(f'unknown protocol keys {sorted(unknown)} for {self.name}; '
                             f'known: {sorted(asdict(self))}')
        return replace(self, **overrides)


PROTOCOLS = {
    'reds4': Protocol('reds4', psnr_on=('RGB', ), ssim_on=('RGB', 'Y')),
    'vid4_bi': Protocol('vid4_bi', flip_seq=True),
    'vid4_bd': Protocol('vid4_bd'),
    'udm10_bd': Protocol('udm10_bd'),
    'vimeo90k_t_bi': Protocol('vimeo90k_t_bi', flip_seq=True, center_frame_only=True),
    'vimeo90k_t_bd': Protocol('vimeo90k_t_bd', flip_seq=True, center_frame_only=True),
    # The embedded default validation clips: Y as Vid4.
    'embedded_bi': Protocol('embedded_bi'),
    'embedded_bd': Protocol('embedded_bd'),
}
