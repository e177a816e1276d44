"""The offline renderer: a photo's face-mesh landmarks as FOMM keypoints, one dense warp, a painted mouth.

Implements :class:`fomm_core.renderer.Renderer` for the ``"landmarks"`` keypoint space. ``prepare`` finds
the 478 landmarks (:mod:`talking_head.faces`), keeps the :data:`audio2kp.offline.LANDMARK_SET` subset as
source keypoints in [-1, 1] with Jacobians from the local landmark geometry, gives each keypoint a heatmap
width from its landmark spacing, and measures the mouth. ``render`` turns driving keypoints into one
backward warp (:mod:`.warp`) and builds the mouth behind the parted lips
(:mod:`.mouth`), with the tongue and lip-teeth contacts of the motion's articulation channel when it has one
(:mod:`fomm_core.articulation`). No learned weights; works at whatever square resolution the source crop has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from audio2kp.offline.geometry import source_jacobians
from audio2kp.offline.keypoint_set import KEYPOINT_SPACE, LANDMARK_SET, landmark_neighbours
from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.threads import torch_threads

from .mouth import MouthAppearance, measure_mouth, paint_mouths
from .warp import BACKGROUND_WEIGHT, TILE_CELLS, Seam, mask_reach, sample_mask, sparse_to_dense_tiled, warp_frame

#: Heatmap std of a keypoint = this times the mean distance to its nearest neighbours.
SIGMA_PER_SPACING = 1.0
#: Neighbours averaged for that spacing.
SPACING_NEIGHBOURS = 2
#: Heatmap std limits, normalised units.
MIN_SIGMA, MAX_SIGMA = 0.012, 0.06
#: Inner-lip points centre their heatmaps this share of the way into the lip body (towards the outer contour).
LIP_HEAT_SHIFT = 0.45
#: Inner-lip heatmaps are narrower by this factor (a sharp split where the lips meet).
INNER_LIP_SIGMA_FACTOR = 0.6
#: ... but never narrower than this many flow-grid cells (a heatmap must cover a cell of the motion grid).
MIN_INNER_SIGMA_CELLS = 0.75
#: Side of the grid the motion field is computed on (upsampled to the image).
DEFAULT_FLOW_SIZE = 128
#: Frames rendered at once (bounds memory).
RENDER_CHUNK = 8
#: Largest face window (pixels) rendered at the photo's own resolution; larger windows are rendered at this
#: size and scaled up on paste-back (a 2048 px window is ~4 Mpx a frame, already beyond any screen's face).
MAX_WINDOW = 2048


@dataclass
class LandmarkWarpConfig:
    """Settings of the offline renderer.

    Attributes:
        image_size: square resolution of the crops it renders in crop mode (pixels); in full mode it renders the
            face window at the photo's own resolution instead (:meth:`LandmarkWarpRenderer.window_size`).
        flow_size: side of the motion-field grid (the motion is smooth: computed coarse, upsampled to the
            window; the photo itself is sampled at full resolution).
        max_window: largest window side rendered at full resolution (pixels).
        background_weight: weight of the still background relative to a heatmap peak.
        paint_mouth: paint the mouth interior (off only for diagnostics).
    """

    image_size: int = 256
    flow_size: int = DEFAULT_FLOW_SIZE
    max_window: int = MAX_WINDOW
    background_weight: float = BACKGROUND_WEIGHT
    paint_mouth: bool = True


@dataclass
class LandmarkSourceState:
    """A prepared source.

    Attributes:
        image: ``(1, 4, H, W)``: RGB in [0, 1] and the photo's mouth interior mask in [0, 1].
        keypoints: values ``(1, K, 2)`` in [-1, 1], Jacobians ``(1, K, 2, 2)``.
        variance: ``(K,)`` heatmap variances, normalised units squared.
        mouth: the photo's mouth colours and size.
        landmarks: ``(478, 2)`` float32 crop pixels (x, y).
        heat_shift: ``(K, 2)`` heatmap centre offsets, normalised units (see ``sparse_to_dense_tiled``).
        interior_reach: where samples can draw on the interior mask (:func:`.warp.mask_reach`), or ``None``.
    """

    image: Tensor
    keypoints: Keypoints
    variance: Tensor
    mouth: MouthAppearance
    landmarks: np.ndarray
    heat_shift: Tensor
    interior_reach: Optional[tuple] = None


def pixels_to_normalized(points: np.ndarray, size: int) -> np.ndarray:
    """Pixel-centre (x, y) -> [-1, 1] with -1/+1 at the first/last pixel centres (``align_corners=True``)."""
    return (np.asarray(points, np.float64) * (2.0 / (size - 1)) - 1.0).astype(np.float32)


def normalized_to_pixels(points, size: int):
    return (points + 1.0) * ((size - 1) / 2.0)


def _seam(upper_groups, lower_groups, upper_edge: str, lower_edge: str, shared=()) -> Seam:
    def idx(names):
        keep = [k for k in LANDMARK_SET.groups_of(*names) if k not in shared]
        return torch.tensor(keep, dtype=torch.long)

    return Seam(idx(upper_groups), idx(lower_groups), torch.from_numpy(LANDMARK_SET.group(upper_edge)),
                torch.from_numpy(LANDMARK_SET.group(lower_edge)))


#: The lips and the lids: where they meet, pixels above follow the upper part and those below the lower.
LANDMARK_SEAMS = (
    _seam(("lips_outer_upper", "lips_inner_upper"), ("lips_outer_lower", "lips_inner_lower"),
          "lips_inner_upper", "lips_inner_lower", shared=(*LANDMARK_SET.mouth_corners, *LANDMARK_SET.inner_mouth_corners)),
    _seam(("eyelid_right_upper",), ("eyelid_right_lower",), "eyelid_right_upper", "eyelid_right_lower"),
    _seam(("eyelid_left_upper",), ("eyelid_left_lower",), "eyelid_left_upper", "eyelid_left_lower"),
)


class LandmarkWarpRenderer:
    """Offline renderer (see module docstring)."""

    keypoint_space = KEYPOINT_SPACE
    needs_face_landmarks = True
    can_detect = False
    renders_native_window = True  # the warp samples the photo itself: any window size
    carries_detail = False  # nothing to carry: the output already is the warped photo
    #: It runs on the CPU (NumPy and small torch ops), wherever the other models are.
    device = torch.device("cpu")

    def __init__(self, config: Optional[LandmarkWarpConfig] = None):
        self.config = config or LandmarkWarpConfig()

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def to(self, device) -> "LandmarkWarpRenderer":
        """Nothing to move (no networks; it always runs on the CPU); returns ``self``."""
        return self

    def detect(self, images: Tensor) -> Keypoints:
        """Not available: the landmark renderer cannot read a video's motion (``can_detect`` is false)."""
        raise InputError("the offline renderer cannot read keypoints from video frames (a learned FOMM model can)")

    def set_precision(self, precision: str) -> "LandmarkWarpRenderer":
        """No networks, so no number format to choose; returns ``self``."""
        return self

    def with_detail(self, state: LandmarkSourceState, window: Tensor) -> LandmarkSourceState:
        """Not available (``carries_detail`` is false): the offline renderer renders the window itself."""
        raise InputError("the offline renderer renders the face window at full resolution itself; no detail to carry")

    def window_size(self, side: int) -> int:
        """Resolution (pixels) at which a face window of ``side`` photo pixels is rendered: its own, up to
        ``config.max_window``. The motion field's cost does not depend on it; the warp and the mouth scale
        with the window's pixels, not the photo's."""
        return int(min(max(int(side), 1), self.config.max_window))

    def _flow_size(self, size: int) -> int:
        """Side of the motion grid for a ``size`` px window: ``config.flow_size``, at most the window, in whole tiles."""
        return max(TILE_CELLS, min(self.config.flow_size, size) // TILE_CELLS * TILE_CELLS)

    def prepare(self, source: Tensor, landmarks: Optional[np.ndarray] = None) -> LandmarkSourceState:
        """Prepare ``source`` (``(1, 3, H, W)`` in [0, 1]): with its ``(478, 2)`` face ``landmarks`` in its pixels
        when given, else after finding the face in it.

        Raises:
            InputError: no face found in the crop.
        """
        if landmarks is not None:
            return self.prepare_with_landmarks(source, landmarks)
        from talking_head.faces import find_face

        image = (source[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
        face = find_face(np.ascontiguousarray(image), name="source crop")
        return self.prepare_with_landmarks(source, face.landmarks)

    def prepare_with_landmarks(self, source: Tensor, landmarks: np.ndarray) -> LandmarkSourceState:
        """Prepare ``source`` (``(1, 3, H, W)``, square) given its ``(478, 2)`` landmarks in its pixels."""
        if source.ndim != 4 or source.shape[0] != 1 or source.shape[-1] != source.shape[-2]:
            raise InputError(f"source must be one square image (1, 3, S, S), got {tuple(source.shape)}")
        size = source.shape[-1]
        kp_px = LANDMARK_SET.select(np.asarray(landmarks, np.float64))  # (K, 2)
        value = pixels_to_normalized(kp_px, size)
        neighbours = landmark_neighbours(value)
        value_t = torch.from_numpy(value)[None]  # (1, K, 2)
        jacobian = source_jacobians(value_t, torch.from_numpy(neighbours))
        spacing = np.linalg.norm(value[neighbours[:, :SPACING_NEIGHBOURS]] - value[:, None], axis=-1).mean(1)
        sigma = np.clip(SIGMA_PER_SPACING * spacing, MIN_SIGMA, MAX_SIGMA)
        inner = LANDMARK_SET.groups_of("lips_inner_upper", "lips_inner_lower")
        flow_size = self._flow_size(size)
        min_inner = MIN_INNER_SIGMA_CELLS * 2.0 / (flow_size - 1)  # flow-grid cells -> normalised units
        sigma[inner] = np.maximum(sigma[inner] * INNER_LIP_SIGMA_FACTOR, min_inner)
        image_np = source[0].permute(1, 2, 0).float().cpu().numpy()
        mouth = measure_mouth(image_np, kp_px)
        interior = torch.from_numpy(mouth.photo[..., 3])  # (S, S) the photo's mouth interior
        return LandmarkSourceState(
            image=torch.cat([source.float().cpu(), interior[None, None]], 1),
            keypoints=Keypoints(value_t, jacobian),
            variance=torch.from_numpy((sigma ** 2).astype(np.float32)),
            mouth=mouth,
            heat_shift=torch.from_numpy(_lip_heat_shift(value)),
            interior_reach=mask_reach(interior[None, None]),
            landmarks=np.asarray(landmarks, np.float32),
        )

    @torch.no_grad()
    def render(self, state: LandmarkSourceState, motion: Keypoints) -> Tensor:
        """``motion`` (values ``(B, K, 2)``, Jacobians ``(B, K, 2, 2)``, articulation ``(B, C)`` or ``None``) ->
        frames ``(B, 3, H, W)`` in [0, 1]. Without articulation the mouth is drawn as with all zeros."""
        if motion.num_kp != state.keypoints.num_kp:
            raise InputError(f"motion has {motion.num_kp} keypoints, the landmark renderer needs {state.keypoints.num_kp}")
        jac = motion.jacobian if motion.jacobian is not None else state.keypoints.jacobian.expand(motion.batch_size, -1, -1, -1)
        art = None if motion.articulation is None else motion.articulation.float().cpu()
        motion = Keypoints(motion.value.float().cpu(), jac.float().cpu(), art)
        size = state.image.shape[-1]
        frames = torch.empty(motion.batch_size, 3, size, size)
        with torch_threads():  # small tensors: one thread is fastest, and immune to a busy second core
            for start in range(0, motion.batch_size, RENDER_CHUNK):
                self._render_chunk(state, motion[start:start + RENDER_CHUNK], frames[start:start + RENDER_CHUNK])
        return frames

    def _render_chunk(self, state: LandmarkSourceState, motion: Keypoints, frames: Tensor) -> None:
        """Render ``motion`` into ``frames`` (``(B, 3, H, W)``, written in place)."""
        size = state.image.shape[-1]
        flow_size = self._flow_size(size)
        interior = torch.empty(motion.batch_size, size, size)  # the photo's mouth interior, warped
        # Frame by frame: which keypoints reach which tiles, and which pixels move, then depend on the frame
        # alone, so a frame renders to the same pixels whatever batch it comes in (streaming equals one-shot).
        for i in range(motion.batch_size):
            offset = sparse_to_dense_tiled(state.keypoints, motion[i], state.variance, flow_size,
                                           self.config.background_weight, state.heat_shift, LANDMARK_SEAMS)
            grid, box = warp_frame(state.image[:, :3], offset, frames[i])
            if self.config.paint_mouth:
                interior[i] = state.image[0, 3]
                if grid is not None:  # around the mouth only
                    y0, y1, x0, x1 = box
                    interior[i, y0:y1, x0:x1] = sample_mask(state.image[:, 3:], grid, box, state.interior_reach,
                                                            float(offset.abs().max()))
        if self.config.paint_mouth:
            px = normalized_to_pixels(motion.value, size)  # (B, K, 2)
            paint_mouths(frames, interior, px, state.mouth, motion.articulation)
        frames.clamp_(0, 1)


def _lip_heat_shift(value: np.ndarray) -> np.ndarray:
    """``(K, 2)``: inner-lip points towards the outer contour of the same lip, others 0."""
    shift = np.zeros_like(value)
    for inner_name, outer_name in (("lips_inner_upper", "lips_outer_upper"), ("lips_inner_lower", "lips_outer_lower")):
        inner, outer = LANDMARK_SET.group(inner_name), LANDMARK_SET.group(outer_name)
        xs = value[outer, 0]
        order = np.argsort(xs)
        outer_y = np.interp(value[inner, 0], xs[order], value[outer, 1][order])
        shift[inner, 1] = LIP_HEAT_SHIFT * (outer_y - value[inner, 1])
    return shift
