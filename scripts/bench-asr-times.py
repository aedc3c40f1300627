#!/usr/bin/env python3
"""How far podsift's default sentence starts (from the pauses) are from DTW's on the same audio.

    bench-asr-times.py DEFAULT.tsv DTW.tsv

Each file: one sentence a line, `start<TAB>end<TAB>text` (asr_bench --times). Sentences are
matched by their text (the words are the same: both runs decode alike); prints one line with the
count matched and the median, 90th percentile and largest |difference| of the starts, and how
often the default is later than DTW by more than half a second (a link that starts late)."""
import statistics
import sys


def read(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3:
                out.setdefault(parts[2].strip().lower(), float(parts[0]))
    return out


def main():
    a, b = read(sys.argv[1]), read(sys.argv[2])
    diffs = [a[k] - b[k] for k in a if k in b]
    if not diffs:
        print(f"{sys.argv[1]}: no sentence in common")
        return
    mags = sorted(abs(d) for d in diffs)
    p90 = mags[min(len(mags) - 1, int(len(mags) * 0.9))]
    late = sum(1 for d in diffs if d > 0.5)
    print(f"{sys.argv[1]}: {len(diffs)} of {len(a)} sentences matched; |default - DTW| median "
          f"{statistics.median(mags):.2f} s, p90 {p90:.2f} s, max {mags[-1]:.2f} s; "
          f"default later by > 0.5 s: {late}")


if __name__ == "__main__":
    main()
