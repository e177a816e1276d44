"""talking_head: the pipeline users touch (Python API, CLI, media I/O, faces, data preparation, provenance)."""

from talking_head.provenance import detect  # noqa: E402,F401  (talking_head.detect(path) -> DetectionReport)
