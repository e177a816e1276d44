"""Articulation: per-frame mouth actions that keypoints on the lips and face cannot show.

Keypoints say where the lips, the jaw and the face are; they cannot say that the tongue tip is up behind
the upper teeth (l, t, d, n), between the teeth (th) or that the lower lip is tucked under the upper teeth (f, v). A driver that
knows the phones (the offline driver) adds these as an articulation channel: one value per frame and
channel, in [0, 1] (0: the mouth does not do it, 1: it does fully). It rides along the keypoints of a
:class:`~fomm_core.motion_track.MotionTrack` and of every :class:`~fomm_core.keypoints.Keypoints` window
taken from it; a renderer that draws the mouth itself (the offline renderer) uses it, the others ignore it.

``None`` means the driver knows nothing of it (the learned driver, video driving); it is rendered exactly
as all zeros, so tracks with and without it can be joined (the missing frames count as zeros). Channels are
saved by name (:meth:`~fomm_core.motion_track.MotionTrack.save`): a track saved before a channel existed loads with
that channel at zero.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

#: The channels, in column order:
#: ``tongue_raise``: the tongue tip raised to the ridge behind the upper teeth (l, t, d, n);
#: ``lip_teeth``: the lower lip against the upper teeth (f, v);
#: ``tongue_teeth``: the tongue tip between the upper and lower front teeth, just under the upper teeth's edge
#: (the dental fricatives th, dh). New channels go at the end (saved tracks are matched by name anyway).
ARTICULATION_CHANNELS: Tuple[str, ...] = ("tongue_raise", "lip_teeth", "tongue_teeth")
#: Column of each channel.
TONGUE_RAISE = ARTICULATION_CHANNELS.index("tongue_raise")
LIP_TEETH = ARTICULATION_CHANNELS.index("lip_teeth")
TONGUE_TEETH = ARTICULATION_CHANNELS.index("tongue_teeth")


def check_articulation(articulation: Optional[Tensor], frames: int, what: str = "articulation") -> None:
    """Check the shape of ``articulation``: ``None`` or ``(frames, len(ARTICULATION_CHANNELS))``.

    Raises:
        ValueError: another shape.
    """
    if articulation is None:
        return
    expected = (frames, len(ARTICULATION_CHANNELS))
    if tuple(articulation.shape) != expected:
        raise ValueError(f"{what} must be {expected} (frames, channels {ARTICULATION_CHANNELS}), "
                         f"got {tuple(articulation.shape)}")


def check_range(articulation: Optional[Tensor], what: str = "articulation") -> None:
    """Check that every value of ``articulation`` is finite and in [0, 1].

    Raises:
        ValueError: a value outside [0, 1], NaN or infinite.
    """
    if articulation is None or articulation.numel() == 0:
        return
    values = articulation.detach()
    if not bool(torch.isfinite(values).all()) or float(values.min()) < 0 or float(values.max()) > 1:
        raise ValueError(f"{what} values must be finite and in [0, 1], got [{float(values.min())}, {float(values.max())}]")


def neutral_articulation(frames: int, like: Optional[Tensor] = None) -> Tensor:
    """``(frames, C)`` zeros (no articulation), on ``like``'s device and dtype when given (else float32, CPU)."""
    if like is None:
        return torch.zeros(frames, len(ARTICULATION_CHANNELS))
    return like.new_zeros(frames, len(ARTICULATION_CHANNELS))


def articulation_channel(articulation: Optional[Tensor], name: str, frames: int) -> Tensor:
    """Channel ``name`` of ``articulation`` as ``(frames,)`` (zeros when ``articulation`` is ``None``).

    Raises:
        KeyError: ``name`` is not one of :data:`ARTICULATION_CHANNELS`.
    """
    if name not in ARTICULATION_CHANNELS:
        raise KeyError(f"no articulation channel {name!r}; the channels are {ARTICULATION_CHANNELS}")
    if articulation is None:
        return torch.zeros(frames)
    return articulation[:, ARTICULATION_CHANNELS.index(name)]
