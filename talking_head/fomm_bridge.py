"""The FOMM motion bridge: audio drives any FOMM model (e.g. the official ``vox-cpk.pth.tar``) without audio2kp.

The offline backend's two halves make a driving video of the source's own face, and FOMM reads its motion
from it, as in the paper's transfer from a video of the same face:

1. the offline driver (:class:`audio2kp.offline.OfflineDriver`) turns the voice into landmark motion (every
   control acts here: expression and pose scales, blinks, seed, a transcript when the controls carry one);
2. the offline renderer (:class:`talking_head.offline.LandmarkWarpRenderer`) renders that motion on the
   source's face crop at the FOMM model's resolution: the driving sequence, in batches;
3. FOMM's keypoint detector reads keypoints and Jacobians from each driving frame;
4. relative motion transfer (:func:`fomm_core.relative.normalize_kp`) moves the source's keypoints by the
   driving displacement since the driving frame that shows the face at rest (the source keypoints rendered
   by the offline renderer), Jacobians composed relatively.

The result is a FOMM :class:`MotionTrack` (plain data, a few KB per second), so :class:`FommBridgeDriver` is an
ordinary :class:`audio2kp.driver.AudioDriver` of the ``"fomm"`` space and the FOMM renderer stays untouched.
Memory does not grow with the clip: at most :data:`DRIVING_BATCH` driving frames exist at a time.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import Tensor

from audio2kp.audio import Audio
from audio2kp.controls import AnimationControls
from audio2kp.posefit import fit_pose
from fomm_core.errors import InputError
from fomm_core.fomm_renderer import FOMM_KEYPOINT_SPACE
from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack
from fomm_core.relative import normalize_kp
from fomm_core.similarity import Similarity

logger = logging.getLogger(__name__)

#: Driving frames rendered and read by the keypoint detector per call.
DRIVING_BATCH = 8
#: The face landmarks must move at least this much (largest per-frame mean displacement, normalised units,
#: about 1 px at 256 px) for the keypoint check to mean anything; a still driving sequence is not an error.
MIN_LANDMARK_MOTION = 0.008
#: A FOMM whose keypoints move less than this share of the landmarks' motion does not see the face move.
MIN_KEYPOINT_MOTION_RATIO = 0.02

PathLike = Union[str, os.PathLike]
#: ``on_frames(frames (B, S, S, 3) uint8, start_index)``: each batch of the driving sequence as it is rendered.
FrameSink = Callable[[np.ndarray, int], None]


@dataclass
class BridgeMotion:
    """What the bridge reads from one driving sequence.

    Attributes:
        track: the motion that animates the source (relative transfer), ``(T, K, 2)`` / ``(T, K, 2, 2)``.
        driving: the keypoints the detector read on the driving frames, ``(T, K, 2)`` / ``(T, K, 2, 2)``.
        rest: the detector's keypoints on the driving frame of the face at rest (batch 1).
        landmarks: the offline driver's landmark track (``"landmarks"`` space) the driving frames show.
    """

    track: MotionTrack
    driving: MotionTrack
    rest: Keypoints
    landmarks: MotionTrack


def head_pose_between(still: Tensor, posed: Tensor) -> Similarity:
    """The per-frame similarity taking ``still`` ``(T, K, 2)`` to ``posed`` ``(T, K, 2)`` (least squares; exact
    when ``posed`` is ``still`` moved by a similarity, as the offline driver applies head motion)."""
    pose = fit_pose(still.float(), posed.float()[:, None])[:, 0]  # (T, 4): each still frame to its posed frame
    return Similarity(pose[:, 0], pose[:, 1], pose[:, 2:4])


def largest_mean_displacement(values: Tensor, reference: Tensor) -> float:
    """``max_t mean_k |values[t, k] - reference[k]|`` for ``(T, K, 2)`` values and a ``(K, 2)`` reference."""
    return float((values.float() - reference.float()[None]).norm(dim=-1).mean(dim=1).max())


def to_uint8(frames: Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` float in [0, 1] -> ``(B, H, W, 3)`` uint8 (rounded)."""
    out = frames.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()


class FommBridgeDriver:
    """Audio -> FOMM motion through an offline-rendered driving sequence of the source's own face.

    Args:
        fomm: the FOMM renderer whose keypoint detector reads the driving frames (its model is not changed).
        name: how messages name the FOMM model (its file or folder).

    Attributes:
        keypoint_space: ``"fomm"``.
        needs_source_crop: tells the pipeline to pass ``source_image`` and ``landmarks`` to :meth:`drive`.
    """

    keypoint_space = FOMM_KEYPOINT_SPACE
    needs_source_crop = True
    uses_transcript = True  # through the offline driver

    def __init__(self, fomm, name: str = "the FOMM model"):
        from audio2kp.offline import OfflineDriver
        from talking_head.offline import LandmarkWarpConfig, LandmarkWarpRenderer

        self.fomm = fomm
        self.name = name
        self.offline = OfflineDriver()
        self.landmark_renderer = LandmarkWarpRenderer(LandmarkWarpConfig(image_size=fomm.image_size))

    def to(self, device) -> "FommBridgeDriver":
        """Nothing of its own to move: the FOMM networks belong to the renderer (the backend moves it) and the
        driving sequence is rendered on the CPU; returns ``self``."""
        return self

    def drive(
        self,
        audio: Audio,
        source: Keypoints,
        fps: float,
        num_frames: int,
        controls: AnimationControls,
        *,
        source_image: Optional[Tensor] = None,
        landmarks: Optional[np.ndarray] = None,
        save_driving: Optional[PathLike] = None,
        watermark: bool = True,
    ) -> MotionTrack:
        """The FOMM motion for ``num_frames`` frames (see :class:`audio2kp.driver.AudioDriver`).

        Args:
            audio: the voice (16 kHz mono).
            source: the source's FOMM keypoints (batch 1), from ``FommRenderer.prepare``.
            fps, num_frames, controls: as for every audio driver.
            source_image: ``(1, 3, S, S)`` the source face crop in [0, 1] at the FOMM model's resolution.
            landmarks: ``(478, 2)`` the crop's face-mesh landmarks, crop pixels (x, y).
            save_driving: also write the driving sequence (an MP4 with the voice) here, for inspection.
            watermark: mark that MP4 as every output of this tool is marked.

        Raises:
            InputError: no source crop or landmarks, or a FOMM whose keypoints do not move with the face.
        """
        if source_image is None or landmarks is None:
            raise InputError("the fomm backend needs the source face crop and its landmarks (a face in the photo)")
        if save_driving is None:
            return self.motion(audio, source, source_image, landmarks, fps, num_frames, controls).track
        from talking_head.media.video_writer import VideoWriter
        from talking_head.provenance import OutputMarks

        marks = OutputMarks.for_output(watermark)
        path = Path(save_driving)
        if not path.parent.is_dir():
            raise InputError(f"{path}: the folder {path.parent} does not exist")
        sign = lambda finished: marks.finalize(finished, title=path.name)  # noqa: E731
        with VideoWriter(path, fps, audio=audio, metadata=marks.tags, finalize=sign) as writer:
            sink = lambda frames, start: writer.write(marks.embed(frames, start_index=start))  # noqa: E731
            return self.motion(audio, source, source_image, landmarks, fps, num_frames, controls, sink).track

    @torch.inference_mode()
    def motion(
        self,
        audio: Audio,
        source: Keypoints,
        source_image: Tensor,
        landmarks: np.ndarray,
        fps: float,
        num_frames: int,
        controls: AnimationControls,
        on_frames: Optional[FrameSink] = None,
        pose_in_keypoints: bool = False,
    ) -> BridgeMotion:
        """Render the driving sequence in batches, read its FOMM keypoints, transfer them to the source.

        Args:
            source: the source's FOMM keypoints (batch 1).
            source_image: ``(1, 3, S, S)`` in [0, 1], ``S`` the FOMM model's resolution.
            landmarks: ``(478, 2)`` crop pixels.
            on_frames: receives each batch of driving frames ``(B, S, S, 3)`` uint8 and its first index.
            pose_in_keypoints: render the driving face with a still head and apply the head motion to the
                transferred keypoints as the exact similarity the offline driver moves the head by (both live
                in the crop's normalised coordinates). Only the expression then passes through the keypoint
                detector, so head motion cannot leak into the expression of a detector that does not follow a
                moving head as one similarity (e.g. random or briefly trained weights); the track's pose and
                expression separate exactly, as audio2kp training separates them. ``on_frames`` then receives
                the still-head frames; ``landmarks`` of the result carry the head motion.
        """
        size = self.fomm.image_size
        if tuple(source_image.shape[-2:]) != (size, size):
            raise InputError(f"the source crop must be {size}x{size} for {self.name}, got {tuple(source_image.shape[-2:])}")
        state = self.landmark_renderer.prepare_with_landmarks(source_image.float().cpu(), landmarks)
        head_apart = pose_in_keypoints and controls.pose_scale > 0
        render_controls = dataclasses.replace(controls, pose_scale=0.0) if head_apart else controls
        lm_track = self.offline.drive(audio, state.keypoints, fps, num_frames, render_controls)
        rest_frame = self.landmark_renderer.render(state, state.keypoints)  # (1, 3, S, S): the face at rest
        rest = self.fomm.detect(rest_frame).to("cpu", torch.float32)
        values, jacobians = [], []
        for start in range(0, num_frames, DRIVING_BATCH):
            frames = self.landmark_renderer.render(state, lm_track.window(start, min(start + DRIVING_BATCH, num_frames)))
            kp = self.fomm.detect(frames).to("cpu", torch.float32)
            values.append(kp.value)
            if kp.jacobian is not None:
                jacobians.append(kp.jacobian)
            if on_frames is not None:
                on_frames(to_uint8(frames), start)
        driving = MotionTrack(torch.cat(values), torch.cat(jacobians) if jacobians else None, fps, FOMM_KEYPOINT_SPACE)
        self._check_moves(driving, rest, lm_track, state.keypoints)
        kp_source = source.to("cpu", torch.float32)
        with_jacobians = driving.jacobian is not None and kp_source.jacobian is not None
        moved = normalize_kp(
            kp_source, Keypoints(driving.value, driving.jacobian), rest,
            adapt_movement_scale=False,  # the same face in the same crop: no size difference to adapt to
            use_relative_movement=True, use_relative_jacobian=with_jacobians,
        )
        track = MotionTrack(moved.value, moved.jacobian, fps, FOMM_KEYPOINT_SPACE)
        if head_apart:
            posed = self.offline.drive(audio, state.keypoints, fps, num_frames, controls)
            track = track.with_pose(head_pose_between(lm_track.value, posed.value))
            lm_track = posed
        return BridgeMotion(track, driving, rest, lm_track)

    def _check_moves(self, driving: MotionTrack, rest: Keypoints, lm_track: MotionTrack, lm_source: Keypoints) -> None:
        """A FOMM that does not see the face move cannot animate it: refuse rather than write a still video."""
        lm_motion = largest_mean_displacement(lm_track.value, lm_source.value[0])
        if lm_motion < MIN_LANDMARK_MOTION:
            return  # a (nearly) still driving sequence, e.g. all motion scaled to 0
        kp_motion = largest_mean_displacement(driving.value, rest.value[0])
        if kp_motion < MIN_KEYPOINT_MOTION_RATIO * lm_motion:
            raise InputError(
                f"{self.name}: its keypoints do not move on the driving sequence (largest mean displacement "
                f"{kp_motion:.4f} against {lm_motion:.4f} for the face landmarks); it cannot animate this face "
                f"(is it a FOMM trained on faces, with the right config?)"
            )


__all__ = ["BridgeMotion", "FommBridgeDriver", "largest_mean_displacement"]
