"""talking_head: the pipeline users touch (Python API, CLI, media I/O, faces, data preparation, provenance)."""
