#!/usr/bin/env python3
"""Make the speech-to-text benchmark episode: MINUTES of audio in blocks of
[8 min speech, 1 min music, 1 min silence], the speech read by espeak-ng from a real podcast
transcript (Python Bytes VTT from ../shared/corpora), the music a synthetic chord sequence
(sox). Writes OUT.mp3 (and OUT.wav, 16 kHz mono) and OUT.txt (the words spoken, for WER).

    bench-asr-episode.py CORPORA_VTT_DIR OUT_PREFIX [MINUTES] [--speech-only]

--speech-only: MINUTES of speech alone (about 160 words a minute), no music or silence, for
comparing engines on the same words (scripts/bench asr-peer).
"""
import glob
import os
import re
import subprocess
import sys

def vtt_text(path):
    words = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line or "-->" in line or line.startswith("WEBVTT") or line.isdigit():
            continue
        words.append(re.sub(r"<[^>]+>", "", line))
    return " ".join(words)

def main():
    speech_only = "--speech-only" in sys.argv
    argv = [a for a in sys.argv if a != "--speech-only"]
    vtt_dir, out, minutes = argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 60
    files = sorted(glob.glob(os.path.join(vtt_dir, "*.vtt")), reverse=True)
    words = []
    for f in files:
        words += vtt_text(f).split()
        if len(words) > minutes * 160:
            break
    work = out + ".parts"
    os.makedirs(work, exist_ok=True)
    parts, spoken, w = [], [], 0
    blocks = 1 if speech_only else max(1, minutes // 10)
    for block in range(blocks):
        # ~8 minutes of speech at 160 words per minute (MINUTES of it when speech only).
        n = minutes * 160 if speech_only else 8 * 160
        text = " ".join(words[w:w + n])
        w += n
        wav = f"{work}/speech{block}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", wav, text], check=True)
        spoken.append(text)
        if speech_only:
            parts.append(wav)
            break
        music = f"{work}/music{block}.wav"
        chords = []
        for i, note in enumerate(["C4", "A3", "F3", "G3"] * 4):
            chords += ["pluck", note] if i % 2 else ["sine", note]
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", music, "synth", "60", "sine", "C4", "sine", "E4", "sine", "G4",
                        "tremolo", "3", "60", "vol", "0.3"], check=True)
        silence = f"{work}/silence{block}.wav"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", silence, "trim", "0", "60"], check=True)
        parts += [wav, music, silence]
    resampled = []
    for p in parts:
        r = p + ".16k.wav"
        subprocess.run(["sox", p, "-r", "16000", "-c", "1", "-b", "16", r], check=True)
        resampled.append(r)
    subprocess.run(["sox", *resampled, out + ".wav"], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", out + ".wav", "-c:a", "libmp3lame",
                    "-b:a", "64k", out + ".mp3"], check=True)
    with open(out + ".txt", "w") as f:
        f.write(" ".join(spoken))
    print(f"{out}.mp3: {minutes} min, {len(' '.join(spoken).split())} words spoken", file=sys.stderr)

if __name__ == "__main__":
    main()
