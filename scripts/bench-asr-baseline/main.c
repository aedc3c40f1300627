// The baseline of `scripts/bench asr`: whisper.cpp called directly from C, built from the very
// source whisper-rs vendors (its crate ships no examples/, so not whisper-cli itself), with the
// settings podsift uses: greedy decoding, English, N threads, no timestamps printed. Reads a
// 16 kHz mono 16-bit WAV, prints the segment count, wall seconds and peak RSS as JSON.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "whisper.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level; (void)text; (void)user;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL WAV THREADS\n", argv[0]);
        return 2;
    }
    whisper_log_set(quiet, NULL);
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 44, SEEK_SET); // canonical PCM header
    long n = (size - 44) / 2;
    int16_t *pcm = malloc(n * sizeof(int16_t));
    float *samples = malloc(n * sizeof(float));
    if (!pcm || !samples || fread(pcm, 2, n, f) != (size_t)n) { fprintf(stderr, "read failed\n"); return 1; }
    fclose(f);
    for (long i = 0; i < n; i++) samples[i] = pcm[i] / 32768.0f;

    double t0 = now();
    struct whisper_context_params cparams = whisper_context_default_params();
    struct whisper_context *ctx = whisper_init_from_file_with_params(argv[1], cparams);
    if (!ctx) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    struct whisper_full_params params = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    params.n_threads = atoi(argv[3]);
    params.language = "en";
    params.print_progress = false;
    params.print_realtime = false;
    params.print_timestamps = false;
    if (whisper_full(ctx, params, samples, (int)n) != 0) { fprintf(stderr, "whisper_full failed\n"); return 1; }
    int segments = whisper_full_n_segments(ctx);
    double wall = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"label\":\"whisper.cpp-c\",\"audio_secs\":%.1f,\"wall_secs\":%.2f,\"realtime_factor\":%.2f,"
           "\"segments\":%d,\"peak_rss_mb\":%.1f}\n",
           n / 16000.0, wall, n / 16000.0 / wall, segments, ru.ru_maxrss / 1024.0);
    whisper_free(ctx);
    return 0;
}
