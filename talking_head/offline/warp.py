"""FOMM's sparse-to-dense motion without learned networks: landmark keypoints to one dense backward warp.

For every keypoint k, the first-order motion near it maps a driving-frame point z back to the source:
``T_k(z) = p_S,k + J_k (z - p_D,k)`` with ``J_k = J_S,k inv(J_D,k)`` (FOMM, SPEC section 3). Where FOMM's
dense-motion network predicts how to mix them, here the mix is fixed: Gaussian heatmaps around the driving
keypoints (``kp2gaussian``, one width per keypoint from the landmark spacing) plus a constant background
weight whose motion is the identity, all normalised to sum to one. Far from the face the background wins,
so the background and the shoulders do not move. The field is computed on a coarse grid, its offset from
the identity upsampled, and the source sampled once (``grid_sample``, bicubic) at its own resolution.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

import torch
import torch.nn.functional as F
from torch import Tensor

from fomm_core.grid import kp2gaussian, make_coordinate_grid
from fomm_core.keypoints import Keypoints

#: Weight of the identity (background) motion, relative to a heatmap's peak of 1. A pixel follows the face
#: while the face heatmaps there sum above this: up to ~3 heatmap widths beyond the outline.
BACKGROUND_WEIGHT = 0.01
#: How the photo is sampled: bicubic keeps its fine texture where the face moves by fractions of a pixel
#: (bilinear averages neighbouring pixels there and loses a quarter of the Laplacian energy at half a pixel).
SAMPLING = "bicubic"
#: Offsets under this many pixels are set to exactly 0 (invisible motion; the photo is then copied, not resampled).
STILL_PX = 0.05


def sparse_to_dense(source: Keypoints, driving: Keypoints, variance: Tensor, flow_size: int,
                    background_weight: float = BACKGROUND_WEIGHT) -> Tensor:
    """Offset of the backward warp from the identity on a ``flow_size`` grid.

    Args:
        source: batch of 1, values ``(1, K, 2)``, Jacobians ``(1, K, 2, 2)``.
        driving: values ``(B, K, 2)``, Jacobians ``(B, K, 2, 2)``.
        variance: ``(K,)`` heatmap variance per keypoint, normalised units squared.
        flow_size: side of the grid.

    Returns:
        ``(B, 2, flow_size, flow_size)``: ``T(z) - z`` in normalised units (x, y channels).
    """
    batch = driving.batch_size
    heat = kp2gaussian(driving.value, (flow_size, flow_size), variance[:, None, None])  # (B, K, F, F)
    heat = heat.flatten(2)  # (B, K, N)
    total = heat.sum(1, keepdim=True) + background_weight  # (B, 1, N)
    weights = heat / total  # (B, K, N); the background keeps background_weight / total
    jac = source.jacobian @ torch.linalg.inv(driving.jacobian)  # (B, K, 2, 2)
    # T_k(z) - z = (J_k - I) z + (p_S - J_k p_D): linear in z, so mix the coefficients, not the fields.
    eye = torch.eye(2, dtype=jac.dtype)
    bias = source.value - torch.einsum("bkij,bkj->bki", jac, driving.value)  # (B, K, 2)
    coeff = torch.cat([(jac - eye).flatten(2), bias], dim=2)  # (B, K, 6)
    mixed = torch.einsum("bkn,bkc->bnc", weights, coeff)  # (B, N, 6)
    grid = make_coordinate_grid((flow_size, flow_size), jac.dtype).view(1, -1, 2)  # (1, N, 2)
    lin = mixed[..., :4].view(batch, -1, 2, 2)  # (B, N, 2, 2)
    offset = torch.einsum("bnij,bnj->bni", lin, grid.expand(batch, -1, -1)) + mixed[..., 4:]  # (B, N, 2)
    return offset.permute(0, 2, 1).reshape(batch, 2, flow_size, flow_size)  # (B, 2, F, F)


#: An output box ``(y0, y1, x0, x1)``, pixels, end exclusive.
Box = Tuple[int, int, int, int]


def moving_grid(offset: Tensor, height: int, width: int) -> Tuple[Optional[Tensor], Box]:
    """Where the output pixels that move sample the source, for one frame.

    Args:
        offset: ``(1, 2, f, f)`` offset of the warp from the identity on the flow grid (normalised units),
            exactly 0 where no keypoint reaches (:func:`sparse_to_dense_tiled`).
        height, width: the output's size (pixels).

    Returns:
        ``(grid, box)``: ``box`` ``(y0, y1, x0, x1)`` the output pixels the offset can move (the bilinear
        upsampling of the flow cells that are not 0), ``grid`` ``(1, y1 - y0, x1 - x0, 2)`` identity + the
        upsampled offset there, normalised units; ``(None, (0, 0, 0, 0))`` when nothing moves. Every pixel
        outside the box is the source's own (copy it, do not resample it). Motion far below a pixel is no
        motion: sampled exactly there, the photo keeps every bit of its detail. The box depends on this frame
        alone, so a frame warps to the same pixels whatever batch it is rendered in.
    """
    flow = offset.shape[-1]
    moving = (offset[0] != 0).any(0)  # (f, f)
    rows, cols = moving.any(1).nonzero()[:, 0], moving.any(0).nonzero()[:, 0]
    if not len(rows):
        return None, (0, 0, 0, 0)
    y0, y1 = _reached(flow, height, int(rows[0]), int(rows[-1]))
    x0, x1 = _reached(flow, width, int(cols[0]), int(cols[-1]))
    identity = _identity_grid(height, width, offset.dtype)[None, y0:y1, x0:x1]  # (1, h, w, 2)
    # Bilinear upsampling with aligned corners of the box only: the flow grid spans the same [-1, 1].
    up = F.grid_sample(offset, identity, mode="bilinear", align_corners=True)  # (1, 2, h, w)
    still = 2.0 * STILL_PX / (max(height, width) - 1)  # pixels -> normalised units
    up = up.masked_fill(up.abs() < still, 0.0)
    return identity + up.permute(0, 2, 3, 1), (y0, y1, x0, x1)  # (1, h, w, 2)


def _reached(flow: int, size: int, first: int, last: int) -> Tuple[int, int]:
    """The pixels (start, end exclusive) of ``size`` whose bilinear upsampling from ``flow`` cells (aligned
    corners: pixel ``p`` lies at cell ``p (flow - 1) / (size - 1)``) draws on cells ``first..last``: those strictly
    between cells ``first - 1`` and ``last + 1``."""
    scale = (size - 1) / (flow - 1)  # pixels per cell
    start = max(0, math.floor((first - 1) * scale) + 1)
    end = min(size, math.ceil((last + 1) * scale))
    return start, end


@functools.lru_cache(maxsize=8)
def _identity_grid(height: int, width: int, dtype: torch.dtype) -> Tensor:
    """:func:`fomm_core.grid.make_coordinate_grid` of the output, ``(H, W, 2)``, made once per size (never written to)."""
    return make_coordinate_grid((height, width), dtype)


def sample(image: Tensor, grid: Tensor) -> Tensor:
    """``image`` (``(1, C, h, w)``) sampled at ``grid`` (``(B, H, W, 2)``, normalised units) -> ``(B, C, H, W)``."""
    return F.grid_sample(image.expand(grid.shape[0], -1, -1, -1), grid, mode=SAMPLING, padding_mode="border",
                         align_corners=True)


def warp_frame(image: Tensor, offset: Tensor, out: Tensor) -> Tuple[Optional[Tensor], Box]:
    """Warp ``image`` (``(1, C, H, W)``) by one frame's ``offset`` (``(1, 2, f, f)``) into ``out`` (``(C, H, W)``,
    written in place): the source copied where nothing moves, sampled (:data:`SAMPLING`) in the box that
    moves. Returns :func:`moving_grid`'s ``(grid, box)`` for sampling other layers the same way."""
    height, width = image.shape[-2:]
    out.copy_(image[0])
    grid, box = moving_grid(offset, height, width)
    if grid is not None:
        y0, y1, x0, x1 = box
        out[:, y0:y1, x0:x1] = sample(image, grid)[0]
    return grid, box


#: Source pixels around a mask's non-zero box that a sample can still draw on (bicubic: 2 on each side).
SAMPLING_REACH_PX = 2


def mask_reach(mask: Tensor) -> Optional[tuple]:
    """Where samples can draw on ``mask`` (``(1, 1, h, w)``): its non-zero box widened by the sampling reach,
    ``(x0, y0, x1, y1)`` in normalised units, or ``None`` for an all-zero mask. Once per source."""
    ys, xs = mask[0, 0].nonzero(as_tuple=True)
    if not len(ys):
        return None
    h, w = mask.shape[-2:]
    reach = SAMPLING_REACH_PX + 1
    return ((float(xs.min()) - reach) * 2 / (w - 1) - 1, (float(ys.min()) - reach) * 2 / (h - 1) - 1,
            (float(xs.max()) + reach) * 2 / (w - 1) - 1, (float(ys.max()) + reach) * 2 / (h - 1) - 1)


def sample_mask(mask: Tensor, grid: Tensor, box: Box, reach: Optional[tuple], spread: float) -> Tensor:
    """``mask`` (``(1, 1, H, W)``, zero outside a small region) sampled at ``grid`` (``(1, h, w, 2)``, over the
    output ``box``, :func:`moving_grid`) -> ``(h, w)``, equal to :func:`sample`'s. Only the output pixels whose
    sample can land within ``reach`` (:func:`mask_reach` of the mask) are computed: those within ``spread``
    (normalised units, at least the frame's largest offset along x or y) of it, a mouth, not the window."""
    out = grid.new_zeros(grid.shape[1:3])
    if reach is None:
        return out
    height, width = mask.shape[-2:]
    y0, y1, x0, x1 = box
    left, top, right, bottom = reach

    def pixel(value: float, size: int) -> float:  # normalised units -> pixels (aligned corners)
        return (value + 1) * (size - 1) / 2

    c0, c1 = max(x0, math.floor(pixel(left - spread, width))), min(x1, math.ceil(pixel(right + spread, width)) + 1)
    r0, r1 = max(y0, math.floor(pixel(top - spread, height))), min(y1, math.ceil(pixel(bottom + spread, height)) + 1)
    if c1 > c0 and r1 > r0:
        part = grid[:, r0 - y0:r1 - y0, c0 - x0:c1 - x0]  # (1, r1 - r0, c1 - c0, 2)
        out[r0 - y0:r1 - y0, c0 - x0:c1 - x0] = sample(mask, part)[0, 0]
    return out


#: A heatmap is cut off this many standard deviations from its keypoint in the tiled evaluation
#: (exp(-4.5^2 / 2) = 4e-5 of its peak, far below the background weight).
REACH_SIGMAS = 4.5
#: Tile side, in flow-grid cells, of the tiled evaluation.
TILE_CELLS = 8
#: Position of the padding keypoint (far outside the image: its heatmap is zero everywhere).
_FAR = 1e3


#: Softness of a seam's split, normalised units (about half a pixel at 256 px).
SEAM_SOFTNESS = 0.004


@dataclass(frozen=True)
class Seam:
    """Two parts that touch and part again (the lips; the lids of one eye).

    Above the seam (the midline between the two edge contours, in image x), only the upper part's
    keypoints move a pixel; below it only the lower part's: where lips meet, the pixels above follow the
    upper lip and those below the lower lip, however close the two keypoint rows come.

    Attributes:
        upper, lower: keypoint indices of the two parts (int64 tensors).
        upper_edge, lower_edge: keypoint indices of the two touching contours; ``upper_edge`` runs corner
            to corner and sets the seam's horizontal extent.
    """

    upper: Tensor
    lower: Tensor
    upper_edge: Tensor
    lower_edge: Tensor


def sparse_to_dense_tiled(source: Keypoints, driving: Keypoints, variance: Tensor, flow_size: int,
                          background_weight: float = BACKGROUND_WEIGHT, heat_shift: Optional[Tensor] = None,
                          seams: Sequence[Seam] = ()) -> Tensor:
    """:func:`sparse_to_dense`, evaluated only where heatmaps reach.

    The grid is cut into tiles of :data:`TILE_CELLS` cells; each tile mixes only the keypoints whose
    heatmap (cut at :data:`REACH_SIGMAS`) touches it in some frame of the batch, and tiles no keypoint
    reaches keep the identity (offset exactly 0). Same result as the dense evaluation up to the cut-off,
    at a fraction of its cost. Shapes as :func:`sparse_to_dense`; ``flow_size`` must be a multiple of
    :data:`TILE_CELLS`.

    ``heat_shift`` (``(K, 2)``, source units, optional) moves each heatmap's centre off its keypoint, carried
    into the frame by the keypoint's local affine map: the inner lip points put their heatmaps inside the
    lip body, so where the lips meet, the pixels above follow the upper lip and those below the lower lip.
    The keypoint's motion itself is unchanged (first-order motion is valid around the keypoint).
    """
    batch, num_kp = driving.batch_size, driving.num_kp
    if flow_size % TILE_CELLS:
        raise ValueError(f"flow_size {flow_size} is not a multiple of {TILE_CELLS}")
    tiles = _tile_grid(flow_size)
    jac = source.jacobian @ torch.linalg.inv(driving.jacobian)  # (B, K, 2, 2)
    centres = driving.value
    if heat_shift is not None:
        centres = centres + torch.einsum("bkij,kj->bki", torch.linalg.inv(jac), heat_shift)  # (B, K, 2)
    index, active = _tile_candidates(tiles, centres, variance.sqrt())
    offset = torch.zeros(batch, tiles.count, TILE_CELLS * TILE_CELLS, 2)
    if index.numel():
        # T_k(z) - z = (J_k - I) z + b_k: its coefficients, the columns of J_k - I then b_k, and a 1 that sums
        # the heatmaps in the same product; a zero pad keypoint K after them.
        lin = jac - torch.eye(2, dtype=jac.dtype)  # (B, K, 2, 2)
        bias = source.value - torch.einsum("bkij,bkj->bki", jac, driving.value)  # (B, K, 2)
        coeff = torch.zeros(batch, num_kp + 1, 7)
        coeff[:, :num_kp, 0:2], coeff[:, :num_kp, 2:4] = lin[..., 0], lin[..., 1]
        coeff[:, :num_kp, 4:6], coeff[:, :num_kp, 6] = bias, 1.0
        points = torch.cat([centres, torch.full((batch, 1, 2), _FAR)], 1)  # (B, K+1, 2)
        scale = -0.5 / torch.cat([variance, variance.new_ones(1)])  # (K+1,) exponent per squared distance
        tile_ids = active.nonzero()[:, 0]  # (A,) grid tile of each row of `index`
        sides, labels = _seam_table(seams, driving.value, tiles, tile_ids, num_kp)
        # Tiles differ a lot in how many keypoints reach them (a few on the cheek, dozens at the lips):
        # each group of similar tiles is padded only to its own largest count, not the grid's.
        for rows, width in _groups_by_count((index < num_kp).sum(1)):
            group = index[rows, :width]  # (a, m)
            ids = tile_ids[rows]
            gate = None
            if sides is not None:
                which = labels[group][None, :, None, :].expand(batch, -1, TILE_CELLS * TILE_CELLS, -1)  # (B, a, C, m)
                gate = torch.gather(sides[:, rows], 3, which)
            offset[:, ids] = _mix_tiles(tiles, ids, group, points, coeff, scale, gate, background_weight)  # (B, a, C, 2)
    side = tiles.side
    offset = offset.view(batch, side, side, TILE_CELLS, TILE_CELLS, 2).permute(0, 5, 1, 3, 2, 4)  # (B, 2, ty, S, tx, S)
    return offset.reshape(batch, 2, flow_size, flow_size)


@dataclass(frozen=True)
class _TileGrid:
    """A ``flow_size`` grid cut into ``side x side`` tiles of ``S x S`` cells (S = :data:`TILE_CELLS`), tile
    ``ty * side + tx``, cell ``sy * S + sx``; normalised units. Made once per grid size; never written to.

    Attributes:
        cells: ``(tiles, S*S, 2)`` cell centres (x, y).
        xs, ys: ``(tiles, S)`` the x of each cell column and the y of each cell row of a tile.
        col_lo, col_hi: ``(side,)`` x range of each column of tiles; row_lo, row_hi: y range of each row.
        lo, hi: ``(tiles, 2)`` each tile's box.
        xs_np, ys_np: ``xs`` and ``ys`` as float64 NumPy arrays.
    """

    side: int
    cells: Tensor
    xs: Tensor
    ys: Tensor
    col_lo: Tensor
    col_hi: Tensor
    row_lo: Tensor
    row_hi: Tensor
    lo: Tensor
    hi: Tensor
    xs_np: np.ndarray
    ys_np: np.ndarray

    @property
    def count(self) -> int:
        return self.side * self.side


@functools.lru_cache(maxsize=8)
def _tile_grid(flow_size: int) -> _TileGrid:
    side = flow_size // TILE_CELLS
    grid = make_coordinate_grid((flow_size, flow_size), torch.float32)  # (F, F, 2)
    cells = grid.view(side, TILE_CELLS, side, TILE_CELLS, 2).permute(0, 2, 1, 3, 4)  # (ty, tx, S, S, 2)
    cells = cells.reshape(side * side, TILE_CELLS * TILE_CELLS, 2).contiguous()  # (tiles, S*S, 2)
    square = cells.view(-1, TILE_CELLS, TILE_CELLS, 2)  # (tiles, sy, sx, 2)
    xs, ys = square[:, 0, :, 0].contiguous(), square[:, :, 0, 1].contiguous()  # (tiles, S) each
    lo, hi = cells.amin(1), cells.amax(1)  # (tiles, 2)
    return _TileGrid(side, cells, xs, ys, lo[:side, 0], hi[:side, 0], lo[::side, 1], hi[::side, 1], lo, hi,
                     xs.double().numpy(), ys.double().numpy())


#: Tiles are grouped by how many keypoints reach them, each group padded to its own largest count: the group
#: bounds (counts up to each value) of the tiled evaluation.
COUNT_GROUPS = (8, 16, 32)


def _groups_by_count(counts: Tensor):
    """``(rows, width)`` per non-empty group of tiles (``counts`` ``(A,)``: keypoints reaching each tile);
    ``width``: the group's largest count, so ``index[rows, :width]`` keeps every candidate of its rows."""
    lower = 0
    for upper in COUNT_GROUPS + (int(counts.max()),):
        rows = ((counts > lower) & (counts <= upper)).nonzero()[:, 0]
        if rows.numel():
            yield rows, int(counts[rows].max())
        lower = max(lower, upper)


def _mix_tiles(tiles: _TileGrid, ids: Tensor, index: Tensor, points: Tensor, coeff: Tensor, scale: Tensor,
               gate: Optional[Tensor], background_weight: float) -> Tensor:
    """Offsets of the cells of ``a`` tiles, ``(B, a, C, 2)``.

    Args:
        ids: ``(a,)`` the tiles (of ``tiles``); index: ``(a, M)`` keypoints reaching each (the pad keypoint
            ``K`` fills the rest).
        points: ``(B, K+1, 2)`` heatmap centres; coeff: ``(B, K+1, 7)`` motion coefficients (columns of
            ``J - I``, bias, 1); scale: ``(K+1,)`` ``-1 / (2 variance)``.
        gate: ``(B, a, C, M)`` multipliers of the heatmaps by the seams (None: no seams).
    """
    p = points[:, index]  # (B, a, M, 2)
    # An isotropic Gaussian is separable: exp(-(dx^2 + dy^2) / 2v) = exp(-dx^2 / 2v) exp(-dy^2 / 2v), so
    # each tile needs S + S exponentials per keypoint, not S * S.
    xs, ys = tiles.xs[ids], tiles.ys[ids]  # (a, S) each
    factor = scale[index][None, :, None, :]  # (1, a, 1, M)
    gx = torch.exp((xs[None, :, :, None] - p[:, :, None, :, 0]).square_().mul_(factor))  # (B, a, S, M)
    gy = torch.exp((ys[None, :, :, None] - p[:, :, None, :, 1]).square_().mul_(factor))  # (B, a, S, M)
    heat = (gy[:, :, :, None, :] * gx[:, :, None, :, :]).flatten(2, 3)  # (B, a, C, M)
    if gate is not None:
        heat.mul_(gate)
    mixed = heat @ coeff[:, index]  # (B, a, C, 7): heat-weighted coefficients, and the heat's sum
    mixed = mixed[..., :6] / (mixed[..., 6:] + background_weight)  # (B, a, C, 6)
    z = tiles.cells[ids]  # (a, C, 2)
    return mixed[..., 4:].addcmul(mixed[..., 0:2], z[..., 0:1]).addcmul_(mixed[..., 2:4], z[..., 1:2])  # (B, a, C, 2)


def _tile_candidates(tiles: _TileGrid, points: Tensor, sigma: Tensor):
    """Keypoints reaching each tile: ``(A, M)`` indices (``K`` pads) and the ``(tiles,)`` active mask.

    A keypoint reaches a tile when its box (:data:`REACH_SIGMAS` heatmap widths around it, over the frames of
    the batch, ``points`` ``(B, K, 2)``) overlaps the tile's, which is the overlap of the two boxes' x ranges
    and y ranges, tested per column and row of tiles.
    """
    reach = (REACH_SIGMAS * sigma)[:, None]  # (K, 1)
    lo = points.amin(0) - reach  # (K, 2) over the batch
    hi = points.amax(0) + reach
    in_x = (lo[None, :, 0] <= tiles.col_hi[:, None]) & (hi[None, :, 0] >= tiles.col_lo[:, None])  # (side, K)
    in_y = (lo[None, :, 1] <= tiles.row_hi[:, None]) & (hi[None, :, 1] >= tiles.row_lo[:, None])  # (side, K)
    touch = (in_y[:, None, :] & in_x[None, :, :]).reshape(tiles.count, -1)  # (tiles, K), tile ty * side + tx
    counts = touch.sum(1)
    active = counts > 0
    if not bool(active.any()):
        return torch.zeros(0, 0, dtype=torch.long), active
    touch = touch[active]  # (A, K)
    num_kp = points.shape[1]
    # The touching keypoints of each row, in order, first; the pad keypoint K after them.
    rows, keys = touch.nonzero(as_tuple=True)
    slot = touch.cumsum(1)[rows, keys] - 1
    index = torch.full((touch.shape[0], int(counts.max())), num_kp, dtype=torch.long)
    index[rows, slot] = keys
    return index, active


#: A seam acts within this distance of its contours (normalised units): beyond, both parts' heatmaps
#: have faded anyway.
SEAM_REACH = 0.1


def _near_seam(seam: Seam, points: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """``(A,)`` bool: tiles (boxes ``lo``, ``hi`` ``(A, 2)``) within :data:`SEAM_REACH` of ``seam`` in any frame."""
    edge = points[:, torch.cat([seam.upper_edge, seam.lower_edge])]  # (B, n, 2)
    e_lo, e_hi = edge.amin((0, 1)) - SEAM_REACH, edge.amax((0, 1)) + SEAM_REACH  # (2,)
    return ((hi >= e_lo) & (lo <= e_hi)).all(-1)


def _seam_table(seams: Sequence[Seam], points: Tensor, tiles: _TileGrid, tile_ids: Tensor, num_kp: int):
    """Per cell, the heatmap multiplier of each seam part, and which part each keypoint belongs to.

    Args:
        points: ``(B, K, 2)`` driving keypoints. tile_ids: ``(A,)`` the active tiles of ``tiles``.

    Returns:
        ``(sides (B, A, C, 1 + 2 * seams), labels (K + 1,))``: column 0 is 1 (keypoints in no seam), columns
        2n+1 / 2n+2 the upper / lower part of seam n (1 beyond its span or its reach, else how far above / below
        the cell lies); ``labels[k]`` the column of keypoint k (the pad keypoint K: 0). ``(None, None)`` without
        seams or when no tile lies near one.
    """
    lo, hi = tiles.lo[tile_ids], tiles.hi[tile_ids]  # (A, 2)
    near = [_near_seam(seam, points, lo, hi) for seam in seams]  # (A,) each: the tiles each seam can reach
    if not any(bool(rows.any()) for rows in near):
        return None, None
    batch, cells = points.shape[0], TILE_CELLS * TILE_CELLS
    labels = torch.zeros(num_kp + 1, dtype=torch.long)
    sides = np.ones((batch, len(tile_ids), cells, 1 + 2 * len(seams)), np.float32)
    pts = points.detach().double().numpy()  # (B, K, 2)
    for number, (seam, rows) in enumerate(zip(seams, near)):
        labels[seam.upper] = 2 * number + 1
        labels[seam.lower] = 2 * number + 2
        if not bool(rows.any()):
            continue
        ids = tile_ids[rows].numpy()
        below, inside = _seam_side(seam, pts, tiles.xs_np[ids], tiles.ys_np[ids])  # (B, a, C) each
        rows = rows.numpy()
        sides[..., 2 * number + 1][:, rows] = np.where(inside, 1 - below, 1.0)  # (B, a, C) of the near tiles
        sides[..., 2 * number + 2][:, rows] = np.where(inside, below, 1.0)
    return torch.from_numpy(sides), labels


def _seam_side(seam: Seam, pts: np.ndarray, xs: np.ndarray, ys: np.ndarray):
    """How far below the seam each cell is (``(B, a, C)`` in [0, 1]) and whether it is within its span, for
    tiles whose cell columns lie at ``xs`` and rows at ``ys`` (``(a, S)`` each); ``pts``: ``(B, K, 2)`` float64
    driving keypoints."""
    upper = seam.upper_edge.numpy()
    lower = np.concatenate([upper[[0, -1]], seam.lower_edge.numpy()])
    below, inside = [], []
    for frame in pts:
        up, low = frame[upper], frame[lower]
        seam_y = 0.5 * (np.interp(xs, *_by_x(up)) + np.interp(xs, *_by_x(low)))  # (a, S) per column
        side = 0.5 * (1 + np.tanh((ys[:, :, None] - seam_y[:, None, :]) / (2 * SEAM_SOFTNESS)))  # (a, sy, sx)
        within = (xs > up[:, 0].min()) & (xs < up[:, 0].max())  # (a, sx)
        below.append(side.reshape(len(xs), -1))
        inside.append(np.broadcast_to(within[:, None, :], side.shape).reshape(len(xs), -1))
    return np.stack(below), np.stack(inside)


def _by_x(points: np.ndarray):
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]
