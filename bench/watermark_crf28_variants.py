"""Score watermark variants on the hardest CRF 28 clips (how the detector constants were chosen).

    python bench/watermark_crf28_variants.py '{}' '{"floor": 6.0}' '{"low": 0.03, "high": 0.18}' '{"sync": 0.85}'
    CRFS=23 python bench/watermark_crf28_variants.py '{}'     # another CRF

Each argument is one variant (JSON): ``low``/``high`` (pattern band, cycles/pixel), ``sync`` (sync share),
``floor`` (detector activity floor), ``key``. Clips: the 6 LFW faces on scikit-image's colour wheel from
``watermark_robustness.py --extra-faces 76`` (the CRF 28 misses of the old detector) plus 3 others; each is
marked, written as the tool writes (CRF 18), re-encoded at CRF 28 and detected. Prints -log10 p per clip
(found at >= 6), the weakest, the payloads read right and the smallest PSNR. About 20 s per variant.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import watermark_robustness as wr  # noqa: E402
from talking_head.media import write_video  # noqa: E402
from talking_head.provenance import Watermarker, detect_frames  # noqa: E402
import talking_head.provenance.detector as detector  # noqa: E402
import talking_head.provenance.pattern as pattern  # noqa: E402

DEFAULTS = {"low": pattern.BAND_LOW, "high": pattern.BAND_HIGH, "sync": pattern.SYNC_FRACTION,
            "floor": detector.ACTIVITY_FLOOR, "key": pattern.DEFAULT_KEY}


def main() -> None:
    crfs = tuple(int(c) for c in os.environ.get("CRFS", "28").split(","))
    photos = wr.face_photos(76)
    lfw = [n for n in photos if n.startswith("lfw")]
    names = [n for n in photos if "scene12-" in n] + ["hopper", "cameraman-tint", lfw[3]]
    order = list(photos)
    clips = {n: wr.moving_clip(photos[n], wr.SECONDS * wr.FPS, seed=order.index(n)) for n in names}
    folder = Path(tempfile.mkdtemp())
    print("clips: " + ", ".join(names))
    for spec in sys.argv[1:] or ["{}"]:
        options = {**DEFAULTS, **json.loads(spec)}
        pattern.BAND_LOW, pattern.BAND_HIGH = options["low"], options["high"]
        pattern.SYNC_FRACTION, detector.ACTIVITY_FLOOR = options["sync"], options["floor"]
        pattern.keyed_pattern.cache_clear()
        marker = Watermarker(key=options["key"], payload=wr.PAYLOAD)
        scores, psnrs, payload_ok = [], [], 0
        start = time.time()
        for clip in clips.values():
            marked = marker.embed(clip)
            psnrs.append(wr._psnr(marked, clip))
            decoded = wr._read(write_video(folder / "base.mp4", marked, wr.FPS))
            for crf in crfs:
                result = detect_frames([wr._read(write_video(folder / "t.mp4", decoded, wr.FPS, crf=crf))],
                                       key=options["key"])
                scores.append(-result.log10_p_value)
                payload_ok += result.payload == wr.PAYLOAD
        print(f"{spec:36s} -log10 p: " + " ".join(f"{v:5.1f}" for v in scores) + f" | weakest {min(scores):.1f}"
              f" | payload {payload_ok}/{len(scores)} | PSNR min {min(psnrs):.1f} dB ({time.time() - start:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
