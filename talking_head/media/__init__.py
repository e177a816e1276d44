"""Media I/O: images (any mode, EXIF orientation, gigantic files handled), video frames and audio (PyAV)."""
