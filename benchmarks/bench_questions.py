"""An hour of processed video yields its questions in <= 5 s: question generation over synthesized cue records.

Synthesizes the records the pipeline stores for ``--minutes`` of video (default 60; scenes with objects, shapes,
text, sound events and narration, 1 frame/s; :mod:`vidqa.questions.synthetic`), then times
:func:`vidqa.questions.generate_questions` (index + candidates + leak checks + options), median of ``--repeat``
runs, and the store round trip (``replace_generated_questions`` + ``questions``). Prints the figures; the
target is generation <= 5 s for an hour.

    python benchmarks/bench_questions.py --minutes 60 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from vidqa.questions import generate_questions
    from vidqa.questions.synthetic import synthetic_cues
    from vidqa.store import Store

    t0 = time.perf_counter()
    cues = synthetic_cues(args.minutes * 60.0, seed=args.seed)
    built = time.perf_counter() - t0
    words = sum(len(s.words) for s in cues.transcript)
    print(f"cues for {args.minutes:g} min: {len(cues.visual_events)} visual events, {len(cues.audio_events)} audio "
          f"events, {len(cues.transcript)} segments / {words} words (synthesized in {built:.1f} s)")
    times, result = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = generate_questions(cues.video, cues.transcript, cues.audio_events, cues.visual_events,
                                    seed=args.seed)
        times.append(time.perf_counter() - t0)
    assert result is not None
    med = statistics.median(times)
    print(f"generate_questions: {med:.2f} s median of {args.repeat} ({', '.join(f'{t:.2f}' for t in times)}); "
          f"{len(result.questions)} questions, {len(result.dropped)} dropped {result.drop_reasons()}")
    print(f"  {args.minutes * 60 / med:.0f}x realtime; target <= 5 s per hour: "
          f"{'OK' if med * 60 / args.minutes <= 5.0 else 'TOO SLOW'} ({med * 60 / args.minutes:.2f} s per hour)")
    stats = result.stats()
    print(f"  position max deviation {max(p['max_deviation'] for p in stats['positions'].values()):.3f}, "
          f"answer longest {stats['longest_share']:.3f} vs chance {stats['longest_chance']:.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "vidqa.db")
        store.add_video(cues.video)
        t0 = time.perf_counter()
        n = store.replace_generated_questions(cues.video.id, result.all)
        written = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = store.questions(cues.video.id)
        read = time.perf_counter() - t0
        store.close()
    print(f"store: wrote {n} questions in {written:.2f} s, read {len(back)} back in {read:.2f} s")


if __name__ == "__main__":
    main()
