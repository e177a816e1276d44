"""Lip sync of the offline backend, measured by an independent face-mesh pass over rendered frames.

Two sets of espeak-ng sentences (phone times from libespeak-ng's own phoneme events are the ground truth):

* the **tuning set**: the three sentences the driver has been tuned on (``lipsync_eval.SENTENCES``, en-us,
  160 words per minute);
* the **held-out set** (:data:`HELD_OUT`): 22 sentences across five espeak-ng voices and two speaking rates,
  fixed here once and never used to tune anything (the viseme network never hears these voices either);
* the **festival set** (``--set festival`` or ``all`` when Festival is installed): the same 22 sentences spoken
  by another synthesiser whose voices are built from recordings of people (Festival's ``cmu_us_slt_arctic_hts``,
  a statistical voice trained on a woman's recordings, and ``kal_diphone``, a man's recorded diphones), at two
  durations; Festival's own segment times are the ground truth. Nothing is trained on Festival; the driver's
  mix of mouth estimates was chosen looking at it and the development set (never at the held-out set).
  Debian: ``apt-get install festival festvox-us-slt-hts festvox-kallpc16k``.

Every clip is synthesised ``--syntheses`` times (libespeak-ng's noise differs from one synthesis to the next
within a process; default 6) and each synthesis is animated twice with the astronaut at 256 px: from the
audio alone, and with the sentence as the transcript. Per clip the table prints the **worst** (and the mean)
correlation at lag 0 between the measured inner-lip opening and the phone-derived target, the best lags
seen, the share of p/b/m frames with closed lips (worst), and, with the transcript, how many syntheses the
transcript was aligned on (the rest fell back to the audio). The summary prints, per set and mode, the mean
and the minimum of the per-clip worst correlations, whether every best lag was 0, the pooled p/b/m closed
share, and the issue's bars.

    nice -n 10 python bench/offline_lipsync.py                   # both sets, both modes, worst of 6
    nice -n 10 python bench/offline_lipsync.py --syntheses 2     # quicker, worst of 2
    python bench/offline_lipsync.py --set tuning --workers 4     # one set, clips in 4 processes
    python bench/offline_lipsync.py --set development            # the development set (not in "all")
    python bench/offline_lipsync.py --more                       # also the older extra sentences
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from talking_head.offline.lipsync_eval import MORE_SENTENCES, SENTENCES, run_lipsync  # noqa: E402

#: Speaking rates of the held-out set, words per minute (espeak-ng's default is 175; the tuning set uses 160).
HELD_OUT_RATES = (140, 190)
#: Voices of the held-out set: US, British, Caribbean English, and two US variants (female 3, male 3).
HELD_OUT_VOICES = ("en-us", "en", "en-us+f3", "en-us+m3", "en-029")
#: Held-out sentences, picked once and never tuned on. Sentence i is spoken by voice i mod 5 at rate
#: ``HELD_OUT_RATES[(i // 5) mod 2]``, so every voice speaks at both rates.
HELD_OUT_SENTENCES = (
    "The children walked home from school in the rain.",
    "Can you pass me the salt and pepper, please?",
    "My brother bought a new bicycle last summer.",
    "We watched the boats sail across the bay.",
    "She opened the window to let the fresh air in.",
    "The museum closes at five on Sunday evenings.",
    "Put the milk back in the fridge when you are done.",
    "A big brown dog barked at the mailman.",
    "Turn left at the bridge and follow the river.",
    "Our team played well but lost the final match.",
    "He made a cup of coffee and sat by the fire.",
    "The baby smiled when her mother sang to her.",
    "Please remember to bring your passport tomorrow.",
    "Nobody knew where the old map had been hidden.",
    "Fresh bread smells wonderful in the morning.",
    "The plumber fixed the broken pipe in an hour.",
    "I am going to visit my grandmother in April.",
    "Seven small sheep were sleeping under the tree.",
    "Bring a warm jumper, the evening might be cold.",
    "The meeting was moved to Monday afternoon.",
    "Paul played the piano while Emma painted.",
    "Look at the moon above the mountains tonight.",
)
#: ``(sentence, voice, words per minute)`` of the held-out set.
HELD_OUT: Tuple[Tuple[str, str, int], ...] = tuple(
    (text, HELD_OUT_VOICES[i % len(HELD_OUT_VOICES)], HELD_OUT_RATES[(i // len(HELD_OUT_VOICES)) % 2])
    for i, text in enumerate(HELD_OUT_SENTENCES)
)
TUNING: Tuple[Tuple[str, str, int], ...] = tuple((text, "en-us", 160) for text in SENTENCES)
#: Festival voices and duration stretches (per cent of the voice's normal durations) of the festival set:
#: sentence i is spoken by voice i mod 2 with stretch ``FESTIVAL_STRETCHES[(i // 2) mod 2]``.
FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "kal_diphone")
FESTIVAL_STRETCHES = (85, 115)
FESTIVAL: Tuple[Tuple[str, str, int], ...] = tuple(
    (text, FESTIVAL_VOICES[i % 2], FESTIVAL_STRETCHES[(i // 2) % 2]) for i, text in enumerate(HELD_OUT_SENTENCES))
#: Festival's phone names that are not ARPAbet (the rest are ARPAbet in lower case).
_FESTIVAL_PHONES = {"pau": "SIL", "h#": "SIL", "brth": "SIL", "ax": "AH", "axr": "ER"}
#: The development set: more sentences and espeak-ng voices the driver's shares were chosen on (with the tuning
#: set); none of its voices is a held-out voice. Sentence i is spoken by voice i mod 8 at rate 150 or 180.
DEVELOPMENT_VOICES = ("en-us+f2", "en-us+m1", "en-gb-x-rp", "en-us+f4", "en-us+m2", "en-gb-scotland", "en-us+m4", "en-us+f1")
DEVELOPMENT_SENTENCES = (
    "Every morning the farmer feeds his cows and pigs.",
    "The library is open from nine until half past six.",
    "Maybe we should paint the kitchen a pale yellow.",
    "Tom forgot his umbrella at the bus stop.",
    "The pilot announced a short delay before take off.",
    "Could you open the box with the blue ribbon?",
    "Beautiful flowers grow along the old stone wall.",
    "Mark and Betty moved to a small farm in Maine.",
    "The waiter brought us bread and a bowl of soup.",
    "Wash your hands before you sit down to eat.",
    "Thousands of people watched the parade pass by.",
    "I would love a quiet week by the ocean.",
    "He fixed the lamp with a piece of copper wire.",
    "A tall man in a black coat opened the gate.",
    "The phone rang twice and then stopped.",
    "Bananas and apples are my favourite fruit.",
)
DEVELOPMENT: Tuple[Tuple[str, str, int], ...] = tuple(
    (text, DEVELOPMENT_VOICES[i % 8], (150, 180)[(i // 8) % 2]) for i, text in enumerate(DEVELOPMENT_SENTENCES))
#: The older extra clips (``--more``): seen while the audio-only driver was developed, so neither set.
EXTRA: Tuple[Tuple[str, str, int], ...] = tuple((text, voice, 160) for text, voice in MORE_SENTENCES)

#: The issue's bars: held-out mean and minimum correlation (audio only), mean with the transcript, p/b/m.
BAR_MEAN, BAR_MIN, BAR_TRANSCRIPT_MEAN, BAR_CLOSED = 0.75, 0.6, 0.85, 0.9
MODES = ("audio", "transcript")
FALLBACK = "the transcript does not fit the audio"


@dataclass
class ClipResult:
    """Scores of one clip in one mode over its syntheses."""

    set_name: str
    text: str
    voice: str
    rate: int
    mode: str
    correlations: List[float] = field(default_factory=list)
    lags: List[int] = field(default_factory=list)
    closed: List[float] = field(default_factory=list)
    closure_frames: List[int] = field(default_factory=list)
    aligned: int = 0

    @property
    def worst(self) -> float:
        return float(np.min(self.correlations))


class _Fallbacks(logging.Handler):
    """Counts the driver's transcript fallbacks."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if FALLBACK in record.getMessage():
            self.count += 1


def festival_available() -> bool:
    import shutil

    return shutil.which("festival") is not None


def festival_speech(text: str, voice: str, stretch_percent: int):
    """``(samples, rate, phones)`` of ``text`` spoken by Festival's ``voice`` (as :func:`synthesize`), its
    durations stretched to ``stretch_percent`` per cent; phones with Festival's own segment times."""
    import subprocess
    import tempfile

    import soundfile as sf

    from audio2kp.offline.visemes import TimedLabel

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "say.scm"
        quoted = text.replace("\\", " ").replace('"', " ")
        script.write_text(f'(voice_{voice})\n(Parameter.set \'Duration_Stretch {stretch_percent / 100})\n'
                          f'(set! utt (Utterance Text "{quoted}"))\n(utt.synth utt)\n'
                          f'(utt.save.wave utt "{tmp}/say.wav")\n(utt.save.segs utt "{tmp}/say.segs")\n')
        subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True)
        samples, rate = sf.read(f"{tmp}/say.wav", dtype="float32")
        phones, start = [], 0.0
        for line in Path(f"{tmp}/say.segs").read_text().splitlines():
            parts = line.split()
            if len(parts) != 3 or parts[0] == "#":
                continue
            end, name = float(parts[0]), parts[2]
            phones.append(TimedLabel(_FESTIVAL_PHONES.get(name, name.upper()), start, end))
            start = end
    return samples, rate, phones


def score_clip(job) -> List[ClipResult]:
    """All syntheses of one clip, in both modes (or audio only): ``job = (set, text, voice, rate, n, modes)``."""
    from audio2kp.offline.espeak_phones import synthesize

    import torch

    torch.set_num_threads(1)  # fastest on a small, busy machine; one process per worker
    set_name, text, voice, rate, syntheses, modes = job
    fallbacks = _Fallbacks()
    logging.getLogger("audio2kp").addHandler(fallbacks)
    logging.getLogger("audio2kp").propagate = False  # counted here, not printed over the table
    results = {mode: ClipResult(set_name, text, voice, rate, mode) for mode in modes}
    for _ in range(syntheses if set_name != "festival" else 1):  # Festival says a sentence the same way each time
        speech = festival_speech(text, voice, rate) if set_name == "festival" else synthesize(text, voice=voice, rate_wpm=rate)
        for mode in modes:
            before = fallbacks.count
            s = run_lipsync(text, voice=voice, rate_wpm=rate, speech=speech,
                            transcript=text if mode == "transcript" else None)
            r = results[mode]
            r.correlations.append(s.correlation)
            r.lags.append(s.best_lag)
            r.closed.append(s.closed_share)
            r.closure_frames.append(s.closure_frames)
            r.aligned += int(mode == "transcript" and fallbacks.count == before)
    logging.getLogger("audio2kp").removeHandler(fallbacks)
    return list(results.values())


def _row(r: ClipResult) -> str:
    lags = ",".join(str(v) for v in sorted(set(r.lags)))
    aligned = f"{r.aligned}/{len(r.correlations)}" if r.mode == "transcript" else "-"
    closed = np.nanmin(r.closed) if np.isfinite(r.closed).any() else float("nan")
    return (f"{r.set_name:8s} {r.text[:46]:46s} {r.voice:9s} {r.rate:4d} {r.mode:10s} {r.worst:6.3f} "
            f"{np.mean(r.correlations):6.3f} {lags:>6s} {closed:7.2f} {int(np.mean(r.closure_frames)):4d} "
            f"{aligned:>7s}")


HEADER = (f"{'set':8s} {'sentence':46s} {'voice':9s} {'wpm':>4s} {'mode':10s} {'worst':>6s} {'mean':>6s} "
          f"{'lags':>6s} {'closed':>7s} {'pbm':>4s} {'aligned':>7s}")


def summary(results: List[ClipResult]) -> List[str]:
    """Per set and mode: mean / min of the per-clip worst correlations, lags, pooled p/b/m closed share, bars."""
    lines = [f"{'set':8s} {'mode':10s} {'clips':>5s} {'mean r':>7s} {'min r':>6s} {'all lags 0':>10s} "
             f"{'p/b/m closed':>12s} {'aligned':>8s}  bars"]
    for set_name in dict.fromkeys(r.set_name for r in results):
        for mode in MODES:
            group = [r for r in results if r.set_name == set_name and r.mode == mode]
            if not group:
                continue
            worst = [r.worst for r in group]
            lags0 = all(lag == 0 for r in group for lag in r.lags)
            frames = sum(n for r in group for n in r.closure_frames)
            closed = sum(c * n for r in group for c, n in zip(r.closed, r.closure_frames) if n) / max(frames, 1)
            runs = sum(len(r.correlations) for r in group)
            aligned = f"{sum(r.aligned for r in group)}/{runs}" if mode == "transcript" else "-"
            bars = []
            if set_name in ("held-out", "festival") and mode == "audio":
                bars += [f"mean>={BAR_MEAN}: {_ok(np.mean(worst) >= BAR_MEAN)}",
                         f"min>={BAR_MIN}: {_ok(min(worst) >= BAR_MIN)}", f"lag 0: {_ok(lags0)}"]
            if set_name in ("held-out", "festival") and mode == "transcript":
                bars += [f"mean>={BAR_TRANSCRIPT_MEAN}: {_ok(np.mean(worst) >= BAR_TRANSCRIPT_MEAN)}"]
            if set_name in ("held-out", "festival"):
                bars += [f"p/b/m>={BAR_CLOSED:.0%}: {_ok(closed >= BAR_CLOSED)}"]
            lines.append(f"{set_name:8s} {mode:10s} {len(group):5d} {np.mean(worst):7.3f} {min(worst):6.3f} "
                         f"{str(lags0):>10s} {closed:12.1%} {aligned:>8s}  {'; '.join(bars)}")
    return lines


def _ok(passed: bool) -> str:
    return "met" if passed else "NOT met"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["all", "tuning", "held-out", "festival", "development"], default="all",
                        help="which sentences; 'development' (the development set, not part of 'all') is the one to "
                             "check a driver change on beside the tuning set")
    parser.add_argument("--syntheses", type=int, default=6,
                        help="syntheses per clip; the worst is reported (default 6)")
    parser.add_argument("--no-transcript", action="store_true", help="audio-only runs only")
    parser.add_argument("--more", action="store_true", help="also the older extra sentences/voices")
    parser.add_argument("--workers", type=int, default=1, help="clips scored in parallel processes (default 1)")
    args = parser.parse_args(argv)
    if args.syntheses < 1 or args.workers < 1:
        parser.error("--syntheses and --workers must be at least 1")
    clips = ([("tuning",) + c for c in TUNING] if args.set in ("all", "tuning") else []) + \
            ([("held-out",) + c for c in HELD_OUT] if args.set in ("all", "held-out") else []) + \
            ([("development",) + c for c in DEVELOPMENT] if args.set == "development" else []) + \
            ([("extra",) + c for c in EXTRA] if args.more else [])
    if args.set in ("all", "festival"):
        if festival_available():
            clips += [("festival",) + c for c in FESTIVAL]
        else:
            print("festival set skipped: Festival is not installed "
                  "(apt-get install festival festvox-us-slt-hts festvox-kallpc16k)")
    modes = ("audio",) if args.no_transcript else MODES
    jobs = [(s, text, voice, rate, args.syntheses, modes) for s, text, voice, rate in clips]
    print(f"lip sync, offline backend, astronaut at 256 px, 25 fps; worst / mean of {args.syntheses} "
          f"synthesis(es) per clip; closed = p/b/m frames under 10% of the clip's widest opening (worst synthesis)")
    print(HEADER, flush=True)
    start = time.time()
    results: List[ClipResult] = []
    if args.workers == 1:
        outputs = map(score_clip, jobs)
    else:
        import multiprocessing as mp

        pool = mp.get_context("spawn").Pool(args.workers)
        outputs = pool.imap(score_clip, jobs)
    for clip_results in outputs:
        for r in clip_results:
            results.append(r)
            print(_row(r), flush=True)
    print()
    for line in summary(results):
        print(line)
    print(f"({len(jobs)} clips x {args.syntheses} syntheses x {len(modes)} mode(s) in {time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
