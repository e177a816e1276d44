"""A synthetic talking-face corpus with known ground truth: espeak-ng speech + viseme-driven keypoints.

Used to prove that audio2kp learns lip motion from speech (``talking-head synth-corpus``).
"""
