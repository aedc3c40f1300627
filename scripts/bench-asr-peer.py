#!/usr/bin/env python3
"""faster-whisper (CTranslate2) on one audio file, as the self-hosted podcast tools run it:
CPU, int8, N threads, greedy (beam 1), English, no VAD, default temperature fallback. Prints
one JSON line like podsift's asr_bench (wall, realtime factor, peak RSS) and writes the text
for scoring with podsift's own word error rate (asr_bench --score).

    bench-asr-peer.py CT2_MODEL_DIR AUDIO THREADS OUT.txt [LABEL]
    bench-asr-peer.py --report RESULTS.jsonl    # the table for BENCHMARKS.md
Run from the throwaway virtualenv that `scripts/bench asr-peer` makes.
"""
import json
import resource
import statistics
import sys
import time


def report(path):
    """Median wall time per (label, model) over the rounds, its word error rate, and the ratio
    to faster-whisper on the same model and input."""
    runs = {}
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        runs.setdefault((d["model_class"], d["input"], d["label"]), []).append(d)
    peer = {}
    for (cls, inp, label), ds in runs.items():
        if label == "faster-whisper":
            peer[(cls, inp)] = statistics.median(d["wall_secs"] for d in ds)
    print("| model | input | engine | wall (median of runs) | realtime | WER | podsift / faster-whisper |")
    print("|---|---|---|---|---|---|---|")
    for (cls, inp, label), ds in sorted(runs.items()):
        wall = statistics.median(d["wall_secs"] for d in ds)
        walls = ", ".join(f"{d['wall_secs']:.1f}" for d in ds)
        wers = sorted({round(d["wer"] * 100, 1) for d in ds if d.get("wer") is not None})
        ratio = "" if label == "faster-whisper" or (cls, inp) not in peer else f"{wall / peer[(cls, inp)]:.2f}"
        rt = ds[0]["audio_secs"] / wall
        print(f"| {cls} | {inp} | {label} | {wall:.1f} s ({walls}) | {rt:.1f}x | "
              f"{' / '.join(f'{w} %' for w in wers)} | {ratio} |")


def main():
    if sys.argv[1] == "--report":
        return report(sys.argv[2])
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    model_dir, audio, threads, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    label = sys.argv[5] if len(sys.argv) > 5 else "faster-whisper"
    started = time.perf_counter()
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
    load = time.perf_counter() - started
    # Decoding is part of the job (podsift's figure includes it too).
    samples = decode_audio(audio, sampling_rate=16000)
    segments, _info = model.transcribe(samples, language="en", beam_size=1, vad_filter=False)
    text = [s.text.strip() for s in segments]  # the generator does the work
    wall = time.perf_counter() - started
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(text))
    secs = len(samples) / 16000
    print(json.dumps({
        "label": label,
        "model": model_dir.rstrip("/").split("/")[-1],
        "compute_type": "int8",
        "threads": threads,
        "audio_secs": secs,
        "wall_secs": wall,
        "load_secs": load,
        "realtime_factor": secs / wall,
        "segments": len(text),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
