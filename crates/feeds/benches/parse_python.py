#!/usr/bin/env python3
"""Times Python's feedparser and podcastparser on podsift's synthetic benchmark feed.

    pip install feedparser podcastparser
    cargo run -p podsift-feeds --example synth_feed -- /tmp/synthetic-feed.xml
    python3 crates/feeds/benches/parse_python.py /tmp/synthetic-feed.xml
"""
import io
import sys
import time


def bench(name, fn, data, runs):
    fn(data)  # warm-up
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn(data)
        best = min(best, time.perf_counter() - t)
    mb = len(data) / 1e6
    print(f"{name:14s} best of {runs}: {best * 1000:8.1f} ms  {mb / best:7.1f} MB/s")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/synthetic-feed.xml"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(path, "rb") as f:
        data = f.read()
    print(f"{path}: {len(data) / 1e6:.2f} MB")
    try:
        import podcastparser

        def pp(d):
            feed = podcastparser.parse("https://synthetic.example/feed.xml", io.BytesIO(d))
            assert len(feed["episodes"]) >= 1
        bench("podcastparser", pp, data, runs)
    except ImportError:
        print("podcastparser not installed: pip install podcastparser")
    try:
        import feedparser

        def fp(d):
            feed = feedparser.parse(d)
            assert len(feed.entries) >= 1
        bench("feedparser", fp, data, runs)
    except ImportError:
        print("feedparser not installed: pip install feedparser")


if __name__ == "__main__":
    main()
