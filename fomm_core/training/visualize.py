"""Training pictures: source, driving with its keypoints, source with its keypoints, prediction."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

#: Half-width (pixels) of the square marker drawn at each keypoint.
MARKER_RADIUS = 1
#: Distinct marker colours (RGB in [0, 1]); cycled when there are more keypoints.
MARKER_COLOURS = (
    (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.4, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 1.0),
    (0.0, 1.0, 1.0), (1.0, 0.5, 0.0), (0.5, 0.0, 1.0), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0),
)


def draw_keypoints(image: Tensor, points: Tensor) -> Tensor:
    """Mark ``points`` ``(K, 2)`` (x, y in [-1, 1]) on a copy of ``image`` ``(3, H, W)`` in [0, 1]."""
    out = image.detach().float().cpu().clone()
    _, height, width = out.shape
    for k, (x, y) in enumerate(points.detach().float().cpu().tolist()):
        col = round((x + 1) / 2 * (width - 1))
        row = round((y + 1) / 2 * (height - 1))
        colour = torch.tensor(MARKER_COLOURS[k % len(MARKER_COLOURS)]).view(3, 1, 1)
        r0, r1 = max(row - MARKER_RADIUS, 0), min(row + MARKER_RADIUS + 1, height)
        c0, c1 = max(col - MARKER_RADIUS, 0), min(col + MARKER_RADIUS + 1, width)
        if r0 < r1 and c0 < c1:
            out[:, r0:r1, c0:c1] = colour
    return out


def training_picture(source: Tensor, driving: Tensor, prediction: Tensor, kp_source: Tensor,
                     kp_driving: Tensor, rows: int = 4) -> Tensor:
    """A grid ``(3, rows*H, 4*W)``: per sample [source + kp, driving + kp, prediction + driving kp, prediction].

    Inputs: images ``(B, 3, H, W)`` in [0, 1], keypoint values ``(B, K, 2)``.
    """
    lines: Sequence[Tensor] = []
    for b in range(min(rows, source.shape[0])):
        pred = prediction[b].detach().float().cpu().clamp(0, 1)
        cells = [
            draw_keypoints(source[b], kp_source[b]),
            draw_keypoints(driving[b], kp_driving[b]),
            draw_keypoints(pred, kp_driving[b]),
            pred,
        ]
        lines.append(torch.cat(cells, dim=2))  # (3, H, 4W)
    return torch.cat(lines, dim=1)  # (3, rows*H, 4W)
