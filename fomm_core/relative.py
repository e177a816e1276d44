"""Relative motion transfer (the official ``normalize_kp``): move the source keypoints by the driving motion.

Absolute mode uses the driving keypoints as they are; relative mode adds the driving displacement since
the initial driving frame to the source keypoints (scaled by the ratio of the keypoint clouds' sizes when
``adapt_movement_scale``), and composes Jacobians as ``J_D J_D,init^-1 J_S``.
"""

from __future__ import annotations


import numpy as np
import torch

from .errors import InputError
from .keypoints import Keypoints


def convex_hull_area(points: torch.Tensor) -> float:
    """Area of the convex hull of ``(K, 2)`` points (float64), as ``scipy.spatial.ConvexHull(...).volume``.

    Raises:
        InputError: fewer than 3 points or all on one line (no area).
    """
    from scipy.spatial import ConvexHull
    from scipy.spatial import QhullError

    pts = points.detach().cpu().numpy()
    try:
        return float(ConvexHull(pts).volume)
    except (QhullError, ValueError):
        raise InputError(
            f"keypoints span no area (collinear or fewer than 3 of {len(pts)}); turn off adapt-scale"
        ) from None


def movement_scale(kp_source: Keypoints, kp_driving_initial: Keypoints) -> float:
    """``sqrt(area(hull(source))) / sqrt(area(hull(driving_initial)))`` using batch element 0 of each."""
    source_area = convex_hull_area(kp_source.value[0])
    driving_area = convex_hull_area(kp_driving_initial.value[0])
    return float(np.sqrt(source_area) / np.sqrt(driving_area))


def normalize_kp(
    kp_source: Keypoints,
    kp_driving: Keypoints,
    kp_driving_initial: Keypoints,
    adapt_movement_scale: bool = False,
    use_relative_movement: bool = False,
    use_relative_jacobian: bool = False,
) -> Keypoints:
    """Keypoints to drive the source with (batch of ``kp_driving``; source/initial batches 1 or the same).

    Args:
        kp_source: the source image's keypoints.
        kp_driving: the driving frames' keypoints ``(B, K, 2)``.
        kp_driving_initial: the keypoints of the driving frame that corresponds to the source pose.
        adapt_movement_scale: scale displacements by :func:`movement_scale` (batch element 0).
        use_relative_movement: ``value = p_S + s (p_D - p_D,init)``; otherwise absolute (driving as is).
        use_relative_jacobian: with relative movement, ``J = J_D J_D,init^-1 J_S``; needs Jacobians.
    """
    scale = movement_scale(kp_source, kp_driving_initial) if adapt_movement_scale else 1.0
    if not use_relative_movement:
        return Keypoints(kp_driving.value, kp_driving.jacobian)
    diff = (kp_driving.value - kp_driving_initial.value) * scale  # (B, K, 2)
    value = diff + kp_source.value  # (B, K, 2)
    jacobian = kp_driving.jacobian
    if use_relative_jacobian:
        if kp_driving.jacobian is None or kp_driving_initial.jacobian is None or kp_source.jacobian is None:
            raise ValueError("use_relative_jacobian needs Jacobians (this is a zeroth-order model)")
        jac_diff = torch.matmul(kp_driving.jacobian, torch.inverse(kp_driving_initial.jacobian))  # (B, K, 2, 2)
        jacobian = torch.matmul(jac_diff, kp_source.jacobian)  # (B, K, 2, 2)
    return Keypoints(value, jacobian)
