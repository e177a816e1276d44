"""Why the offline driver mixes three mouth estimates: each one alone, and the mix, against the phone-derived target.

For every clip of a set, the audio-only mouth opening at 25 fps is computed four ways: the viseme network alone
(``net``), the visemes of the phones PocketSphinx recognises (``phones``), first-formant openness times level
(``F1 x level``), and the driver's weighted mix (``mix``, what ``OfflineDriver`` uses); with the transcript, the
aligned visemes alone (``aligned``) and the driver's transcript mix (``aligned mix``). Each is correlated (Pearson,
lag 0) with the opening the ground-truth phones give through the viseme table (``visemes.opening_target``). This
is the driver's output, not a rendered video (``bench/offline_lipsync.py`` measures rendered frames). One
synthesis per clip.

Sets: ``tuning`` + ``development`` (what the shares were chosen on), ``held-out`` and ``festival`` (neither used
for any choice; the festival set needs Festival, see ``bench/offline_lipsync.py``).

    PYTHONPATH=. python bench/offline_mouth_estimators.py [--sets development,held-out,festival]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

FPS = 25.0
COLUMNS = ("net", "phones", "F1 x level", "mix", "aligned", "aligned mix")


def clip_scores(driver, speech, text: str) -> dict:
    """Correlation of each estimate with the target on one clip; ``speech = (samples, rate, phones)``."""
    from audio2kp.audio import Audio, load_audio
    from audio2kp.offline.driver import LEVEL_GAIN, normalised_level, silence_over_speech
    from audio2kp.offline.prosody import prosody_curves
    from audio2kp.offline.visemes import ANTICIPATION_S, opening_target, viseme_curves

    samples, rate, phones = speech
    audio = load_audio(Audio(samples, rate)).resampled(16_000)
    x = normalised_level(audio.samples)
    frames = int(round(len(x) / 16_000 * FPS))
    target = opening_target(phones, frames, FPS)
    prosody = prosody_curves(x, 16_000, frames, FPS)
    net = driver.viseme_net.curves(x, frames, FPS)
    recognised = viseme_curves(driver.recognizer.recognize(x), frames, FPS, anticipation_s=ANTICIPATION_S)
    out = {"net": net.open, "phones": recognised.open,
           "F1 x level": prosody.openness * np.clip(LEVEL_GAIN * prosody.loudness, 0, 1),
           "mix": driver._mouth_shape(recognised, net, prosody).open}
    aligned = driver.aligner.align(x, text)
    if aligned.ok:
        visemes = viseme_curves(aligned.phones, frames, FPS, anticipation_s=0.0)
        out["aligned"] = visemes.open
        misplaced = silence_over_speech(aligned.phones, prosody, frames, FPS)
        out["aligned mix"] = driver._aligned_mouth_shape(visemes, net, misplaced).open
    return {k: float(np.corrcoef(v, target)[0, 1]) if v.std() > 0 else float("nan") for k, v in out.items()}


def main(argv=None) -> int:
    from audio2kp.offline.driver import OfflineDriver
    from audio2kp.offline.espeak_phones import synthesize
    from bench.offline_lipsync import DEVELOPMENT, FESTIVAL, HELD_OUT, TUNING, festival_available, festival_speech

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="development,held-out,festival")
    args = parser.parse_args(argv)
    logging.getLogger("audio2kp").setLevel(logging.ERROR)
    sets = {"development": TUNING + DEVELOPMENT, "held-out": HELD_OUT, "festival": FESTIVAL}
    driver = OfflineDriver()
    print(f"{'set':12s} {'clips':>5s} " + " ".join(f"{c:>11s}" for c in COLUMNS) + "   (mean r against the phone target)")
    for name in args.sets.split(","):
        if name == "festival" and not festival_available():
            print("festival: skipped, Festival is not installed")
            continue
        rows = []
        for text, voice, rate in sets[name]:
            speech = festival_speech(text, voice, rate) if name == "festival" else synthesize(text, voice=voice, rate_wpm=rate)
            rows.append(clip_scores(driver, speech, text))
        means = [np.nanmean([r.get(c, np.nan) for r in rows]) for c in COLUMNS]
        print(f"{name:12s} {len(rows):5d} " + " ".join(f"{m:11.3f}" for m in means))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
