"""Keypoints: the motion description shared by every driver and renderer.

A set of K keypoints per image, each with a position and (for first-order models) a local affine
Jacobian. Coordinates are normalised image coordinates in [-1, 1] with the last axis ``(x, y)``
(x = column, y = row), the convention of :func:`torch.nn.functional.grid_sample`. A Jacobian multiplies
column vectors ``(x, y)^T`` from the left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import Tensor

from .articulation import check_articulation, neutral_articulation


@dataclass
class Keypoints:
    """Keypoints of a batch of images.

    Attributes:
        value: ``(B, K, 2)`` positions in [-1, 1], last axis (x, y).
        jacobian: ``(B, K, 2, 2)`` local affine Jacobians, or ``None`` for a zeroth-order model
            (keypoints only, as in Monkey-Net).
        articulation: ``(B, C)`` in [0, 1], what the mouth does that keypoints cannot show (channels
            :data:`~fomm_core.articulation.ARTICULATION_CHANNELS`), or ``None`` (none known: rendered as zeros).
            Carried along by every method here; renderers that do not draw the mouth ignore it.
    """

    value: Tensor
    jacobian: Optional[Tensor] = None
    articulation: Optional[Tensor] = None

    def __post_init__(self) -> None:
        if self.value.ndim != 3 or self.value.shape[-1] != 2:
            raise ValueError(f"Keypoints.value must be (B, K, 2), got {tuple(self.value.shape)}")
        if self.jacobian is not None and self.jacobian.shape != (*self.value.shape, 2):
            raise ValueError(
                f"Keypoints.jacobian must be {(*self.value.shape, 2)}, got {tuple(self.jacobian.shape)}"
            )
        check_articulation(self.articulation, self.value.shape[0], "Keypoints.articulation")

    @property
    def batch_size(self) -> int:
        return self.value.shape[0]

    @property
    def num_kp(self) -> int:
        return self.value.shape[1]

    def to(self, *args, **kwargs) -> "Keypoints":
        jac = None if self.jacobian is None else self.jacobian.to(*args, **kwargs)
        art = None if self.articulation is None else self.articulation.to(*args, **kwargs)
        return Keypoints(self.value.to(*args, **kwargs), jac, art)

    def detach(self) -> "Keypoints":
        jac = None if self.jacobian is None else self.jacobian.detach()
        art = None if self.articulation is None else self.articulation.detach()
        return Keypoints(self.value.detach(), jac, art)

    def __getitem__(self, index) -> "Keypoints":
        """Select along the batch axis; an integer index keeps the axis (``kp[0]`` is a batch of 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        jac = None if self.jacobian is None else self.jacobian[index]
        art = None if self.articulation is None else self.articulation[index]
        return Keypoints(self.value[index], jac, art)

    def expand(self, batch_size: int) -> "Keypoints":
        """Repeat a batch of one to ``batch_size`` (a view, no copy)."""
        if self.batch_size != 1:
            raise ValueError(f"expand needs a batch of 1, got {self.batch_size}")
        jac = None if self.jacobian is None else self.jacobian.expand(batch_size, -1, -1, -1)
        art = None if self.articulation is None else self.articulation.expand(batch_size, -1)
        return Keypoints(self.value.expand(batch_size, -1, -1), jac, art)

    @staticmethod
    def cat(items: Sequence["Keypoints"]) -> "Keypoints":
        """Concatenate along the batch axis (Jacobians only if all have them; articulation if any has it,
        zeros for the others)."""
        value = torch.cat([k.value for k in items], dim=0)
        jac = None if any(k.jacobian is None for k in items) else torch.cat([k.jacobian for k in items], dim=0)
        return Keypoints(value, jac, cat_articulation([k.articulation for k in items], [k.batch_size for k in items]))


def cat_articulation(parts: Sequence[Optional[Tensor]], frames: Sequence[int]) -> Optional[Tensor]:
    """Join articulation ``(n_i, C)`` parts (``frames[i]`` frames each): ``None`` if all are ``None``, else the
    missing parts as zeros (no articulation renders as ``None`` does)."""
    known = [a for a in parts if a is not None]
    if not known:
        return None
    return torch.cat([neutral_articulation(n, known[0]) if a is None else a.to(known[0]) for a, n in zip(parts, frames)])
