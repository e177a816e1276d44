"""Provenance: an invisible keyed watermark in every frame, a "synthetic" container label, and the detector.

- :class:`Watermarker` ``(key, payload).embed(frames (B, H, W, 3) uint8, start_index) -> frames``: call on each
  batch before the video encoder.
- :func:`synthetic_metadata` -> container tags for the video writer (comment/description: synthetic, tool, version).
- :func:`detect` ``(path, keys=...) -> DetectionReport``: watermark found (and with which key), p-value, payload,
  label present, C2PA status and signer. Detection also tries a mirrored and a rotated (up to +-5 degrees) file.
- :class:`PrivateKey`, :func:`write_key_file` / :func:`read_key_file`: a secret key (``talking-head keygen``) whose
  mark only its holder can find (and add); the public :data:`DEFAULT_KEY` stays the default.
- :class:`WatermarkDetector` / :func:`detect_frames`: the same on frames in memory.
- :func:`sign_video` ``(mp4_path)``: embed a signed C2PA manifest (offline; local test certificate by default);
  :func:`read_c2pa` reads one back.
"""

from .c2pa_manifest import C2paCredentials, C2paStatus, local_credentials, read_c2pa, sign_video
from .detector import FALSE_POSITIVE_RATE, WatermarkDetector, WatermarkResult, detect_frames
from .file_detection import DetectionReport, default_keys, detect
from .keys import KEY_ENV, PrivateKey, key_name, read_key_file, resolve_key, write_key_file
from .label import NO_WATERMARK_HELP, has_synthetic_label, synthetic_metadata
from .pattern import DEFAULT_KEY
from .payload import Payload, default_install_id, tool_version
from .output_marks import OutputMarks
from .transforms import Transform
from .watermark import Watermarker, WatermarkStrength

__all__ = [
    "C2paCredentials",
    "C2paStatus",
    "DEFAULT_KEY",
    "FALSE_POSITIVE_RATE",
    "NO_WATERMARK_HELP",
    "OutputMarks",
    "DetectionReport",
    "KEY_ENV",
    "PrivateKey",
    "Transform",
    "default_keys",
    "key_name",
    "read_key_file",
    "resolve_key",
    "write_key_file",
    "Payload",
    "WatermarkDetector",
    "WatermarkResult",
    "Watermarker",
    "WatermarkStrength",
    "default_install_id",
    "detect",
    "detect_frames",
    "local_credentials",
    "read_c2pa",
    "sign_video",
    "has_synthetic_label",
    "synthetic_metadata",
    "tool_version",
]
