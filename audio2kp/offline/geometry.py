"""Local affine geometry of landmark keypoints: neighbourhoods, source Jacobians, fitted driving Jacobians.

A keypoint's Jacobian describes the local linear shape of the face around it. For the source it is a frame
built from the offsets to its nearest neighbours (the square root of their second-moment matrix,
normalised to unit determinant, so it carries orientation and anisotropy, not size). For a driving frame it
is ``A_k @ J_source_k``, where ``A_k`` is the least-squares affine map of the neighbourhood from the source
to the frame: FOMM's ``J_source @ inv(J_driving)`` then equals ``inv(A_k)``, the local backward warp.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

#: Neighbours used for each keypoint's local frame.
NUM_NEIGHBOURS = 6
#: Ridge term of the affine fit, relative to the mean squared neighbour distance: degenerate directions
#: (neighbours on a line) fall back to the identity instead of blowing up.
AFFINE_RIDGE = 0.05
#: Smallest determinant allowed for a fitted local affine map (a fold is clamped to a squeeze).
MIN_AFFINE_DET = 0.05


def neighbour_index(points: np.ndarray, parts: Sequence[int], forbidden: Sequence[Tuple[int, int]],
                    num: int = NUM_NEIGHBOURS) -> np.ndarray:
    """Nearest neighbours of every keypoint, never across a forbidden pair of parts.

    Args:
        points: ``(K, 2)`` source keypoints in [-1, 1].
        parts: ``(K,)`` part label per keypoint.
        forbidden: pairs of part labels that must not share neighbourhoods (upper and lower lip, lids).
        num: neighbours per keypoint.

    Returns:
        ``(K, num)`` int64 keypoint indices.
    """
    parts = np.asarray(parts)
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1)  # (K, K)
    np.fill_diagonal(dist, np.inf)
    for a, b in forbidden:
        block = (parts[:, None] == a) & (parts[None] == b)
        dist[block | block.T] = np.inf
    return np.argsort(dist, axis=1)[:, :num]


def source_jacobians(points: Tensor, neighbours: Tensor) -> Tensor:
    """Local frames of the source.

    Args:
        points: ``(B, K, 2)`` keypoints in [-1, 1].
        neighbours: ``(K, N)`` int64 indices.

    Returns:
        ``(B, K, 2, 2)`` symmetric positive matrices with determinant 1.
    """
    offsets = points[:, neighbours] - points[:, :, None]  # (B, K, N, 2)
    moment = torch.einsum("bkni,bknj->bkij", offsets, offsets) / neighbours.shape[1]  # (B, K, 2, 2)
    moment = moment + torch.eye(2, dtype=points.dtype) * 1e-8
    evals, evecs = torch.linalg.eigh(moment)
    root = evecs @ torch.diag_embed(evals.clamp_min(1e-12).sqrt()) @ evecs.transpose(-1, -2)
    det = torch.linalg.det(root).clamp_min(1e-12)
    return root / det.sqrt()[..., None, None]


def fit_local_affine(source: Tensor, driving: Tensor, neighbours: Tensor) -> Tensor:
    """Least-squares linear map of each keypoint's neighbourhood from ``source`` to ``driving``.

    Args:
        source: ``(1, K, 2)`` or ``(T, K, 2)`` source keypoints.
        driving: ``(T, K, 2)`` driving keypoints.
        neighbours: ``(K, N)`` int64 indices.

    Returns:
        ``(T, K, 2, 2)`` maps ``A_k`` with ``driving offsets ~= A_k @ source offsets``.
    """
    d_src = source[:, neighbours] - source[:, :, None]  # (1|T, K, N, 2)
    d_dst = driving[:, neighbours] - driving[:, :, None]  # (T, K, N, 2)
    ridge = AFFINE_RIDGE * (d_src ** 2).sum(-1).mean((-1, -2), keepdim=True)[..., None]  # (1|T, 1, 1, 1)
    eye = torch.eye(2, dtype=source.dtype)
    cross = torch.einsum("tkni,tknj->tkij", d_dst, d_src.expand_as(d_dst)) + ridge * eye
    gram = torch.einsum("tkni,tknj->tkij", d_src, d_src) + ridge * eye
    affine = cross @ torch.linalg.inv(gram)
    return _clamp_determinant(affine)


def _clamp_determinant(affine: Tensor) -> Tensor:
    """Keep ``(..., 2, 2)`` maps invertible and orientation preserving (no local folds)."""
    det = torch.linalg.det(affine)
    bad = det < MIN_AFFINE_DET
    if not bool(bad.any()):
        return affine
    eye = torch.eye(2, dtype=affine.dtype).expand_as(affine)
    # Blend towards the identity until the determinant is acceptable (det is continuous along the blend).
    fixed = affine.clone()
    for share in (0.25, 0.5, 0.75, 1.0):
        trial = (1 - share) * affine + share * eye
        take = bad & (torch.linalg.det(trial) >= MIN_AFFINE_DET)
        fixed[take] = trial[take]
        bad = bad & ~take
    return fixed
