"""Head pose from a reference video: reuse a real person's head motion on the photo (learned backend).

The face is found once in the video's first frame; every frame is cut with that same square window (so the
head moves inside a fixed frame, as the camera saw it), FOMM's keypoint detector runs on each crop, and the
similarity fitted from the first frame's keypoints to each frame's is the head pose (docs/architecture.md).
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch

from fomm_core.errors import InputError
from fomm_core.similarity import Similarity, fit_similarity

from .faces import crop_for_face, find_face

#: Frames decoded and run through the keypoint detector at a time.
REFERENCE_BATCH = 16
MAX_PIXEL = 255.0


def reference_head_pose(path: Union[str, os.PathLike], renderer, fps: float) -> Similarity:
    """The head pose of the video at ``path`` on the output clock ``fps``.

    Args:
        path: a video file with a face.
        renderer: a renderer with ``detect(images (B, 3, S, S) in [0, 1]) -> Keypoints`` and ``image_size``
            (``fomm_core.FommRenderer``).
        fps: output frame rate; the video's frames are picked nearest in time.

    Returns:
        ``T'`` transforms (``T'`` = the video's duration at ``fps``), frame 0 the identity.

    Raises:
        InputError: unreadable video, or no face in its first frame.
    """
    from .media import iter_batches, probe_video

    info = probe_video(path)
    size = int(renderer.image_size)
    values = []
    transform = None
    for batch in iter_batches(path, REFERENCE_BATCH):  # (B, H, W, 3) uint8
        if transform is None:
            face = find_face(batch[0], name=str(path))
            transform = crop_for_face(batch.shape[2], batch.shape[1], landmarks=face.landmarks, size=size)
        crops = np.stack([transform.crop(frame) for frame in batch])  # (B, S, S, 3)
        images = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / MAX_PIXEL  # (B, 3, S, S)
        with torch.inference_mode():
            values.append(renderer.detect(images).value.float().cpu())
    if not values:
        raise InputError(f"{path}: the reference video has no frames")
    value = torch.cat(values)  # (N, K, 2)
    pose = fit_similarity(value[0], value)
    num_out = max(1, int(round(len(value) / float(info.fps) * fps)))
    picks = torch.clamp(torch.round(torch.arange(num_out) * float(info.fps) / fps).long(), max=len(value) - 1)
    return Similarity(pose.angle[picks], pose.log_scale[picks], pose.translation[picks])
