"""mediapipe's face detector and face mesh, built once per process and run under a lock.

mediapipe 0.10.14 ships both models inside its wheel (nothing is downloaded). Its native code logs start-up
chatter straight to file descriptor 2 ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager ...")
which no environment variable silences; the graphs are built and run with that descriptor pointed at
``/dev/null`` so the CLI shows only our own messages. A mediapipe graph is not safe to call from two threads
at once, hence the lock (the demo serves several users).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import Dict, Iterator, List

import numpy as np

#: Detections scoring below this are ignored.
MIN_DETECTION_CONFIDENCE = 0.5
#: The face mesh needs this confidence in its own face detection.
MIN_MESH_CONFIDENCE = 0.5

# mediapipe 0.10.14 calls a protobuf API that protobuf 4.x marks deprecated, once per graph run.
warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)

_LOCK = threading.Lock()
_DETECTORS: Dict[int, object] = {}
_MESH: List[object] = []


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point fd 2 at /dev/null for the block (Python's own ``sys.stderr`` object is flushed first)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run_face_detection(image: np.ndarray, model_selection: int) -> list:
    """mediapipe ``FaceDetection`` detections of a ``(H, W, 3)`` uint8 RGB image (0 = short, 1 = full range)."""
    with _LOCK, _native_stderr_silenced():
        detector = _DETECTORS.get(model_selection)
        if detector is None:
            from mediapipe.python.solutions import face_detection

            detector = face_detection.FaceDetection(
                model_selection=model_selection, min_detection_confidence=MIN_DETECTION_CONFIDENCE
            )
            _DETECTORS[model_selection] = detector
        return list(detector.process(image).detections or [])


def run_face_mesh(image: np.ndarray) -> list:
    """mediapipe ``FaceMesh`` landmark lists (at most one face) of a ``(H, W, 3)`` uint8 RGB image."""
    with _LOCK, _native_stderr_silenced():
        if not _MESH:
            from mediapipe.python.solutions import face_mesh

            _MESH.append(face_mesh.FaceMesh(
                static_image_mode=True,  # every call is an independent photo: no tracking between calls
                max_num_faces=1,
                refine_landmarks=True,  # adds the 10 iris points (478 in all) and sharper lips and eyes
                min_detection_confidence=MIN_MESH_CONFIDENCE,
            ))
        return list(_MESH[0].process(image).multi_face_landmarks or [])
