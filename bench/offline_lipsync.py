"""Lip sync of the offline backend, measured by an independent face-mesh pass over rendered frames.

For a few espeak-ng sentences (phone times from libespeak-ng's own phoneme events): drive and render the
example face, re-detect the landmarks on every frame, and print per clip the correlation of the measured
mouth opening with the phone-derived target, the best lag, and how many p/b/m frames show closed lips.

    python bench/offline_lipsync.py          # the three clips of the test
    python bench/offline_lipsync.py --more   # and ten more sentences / espeak-ng voices
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from talking_head.offline.lipsync_eval import MORE_SENTENCES, SENTENCES, run_lipsync  # noqa: E402


def main() -> int:
    clips = [(text, "en-us") for text in SENTENCES] + (list(MORE_SENTENCES) if "--more" in sys.argv[1:] else [])
    print(f"{'sentence':44s} {'voice':9s} {'corr@0':>7s} {'lag':>4s} {'closed':>7s} {'pbm':>4s}")
    correlations = []
    for text, voice in clips:
        s = run_lipsync(text, voice=voice)
        correlations.append(s.correlation)
        print(f"{text[:44]:44s} {voice:9s} {s.correlation:7.3f} {s.best_lag:4d} {s.closed_share:7.2f} {s.closure_frames:4d}")
    print(f"{'min / mean correlation':54s} {min(correlations):7.3f} / {np.mean(correlations):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
