/*
 * Edge coverage for the fuzzing build of native.c (tools/build_native.py --fuzz; never in the toolkit's library).
 *
 * native.c is compiled with gcc's -fsanitize-coverage=trace-pc, which calls __sanitizer_cov_trace_pc() at the
 * start of every basic block. This file (compiled without that flag) records the edges between consecutive
 * blocks, AFL style, with hit counts in buckets, and lets tools/fuzz_native.py ask after each input whether
 * it reached anything new.
 */
#include <stdint.h>
#include <string.h>

#define MAP_SIZE (1 << 16)

static unsigned char hits[MAP_SIZE];   /* this input's edges (hit counts, saturating) */
static unsigned char seen[MAP_SIZE];   /* bucket bits seen so far over all inputs */
static uintptr_t prev;

void __sanitizer_cov_trace_pc(void) {
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t cur = (pc ^ (pc >> 12)) & (MAP_SIZE - 1);
    unsigned char *h = &hits[cur ^ prev];
    if (*h < 255) (*h)++;
    prev = cur >> 1;
}

static unsigned char bucket(unsigned char n) {
    if (n == 0) return 0;
    if (n == 1) return 1;
    if (n == 2) return 2;
    if (n == 3) return 4;
    if (n <= 7) return 8;
    if (n <= 15) return 16;
    if (n <= 31) return 32;
    if (n <= 127) return 64;
    return 128;
}

/* Start recording one input. */
void sparkify_cov_reset(void) {
    memset(hits, 0, sizeof hits);
    prev = 0;
}

/* The number of (edge, hit-count bucket) pairs this input reached for the first time; they count as seen. */
int sparkify_cov_new(void) {
    int fresh = 0;
    for (int i = 0; i < MAP_SIZE; i++) {
        if (!hits[i]) continue;
        unsigned char b = bucket(hits[i]);
        if (!(seen[i] & b)) {
            seen[i] |= b;
            fresh++;
        }
    }
    return fresh;
}

/* The number of (edge, bucket) pairs seen so far. */
int sparkify_cov_total(void) {
    int n = 0;
    for (int i = 0; i < MAP_SIZE; i++) n += __builtin_popcount(seen[i]);
    return n;
}

/* This input's edges as a set of indices into out (up to cap); returns how many. For corpus minimization. */
int sparkify_cov_edges(int *out, int cap) {
    int n = 0;
    for (int i = 0; i < MAP_SIZE && n < cap; i++)
        if (hits[i]) out[n++] = i * 8 + __builtin_ctz(bucket(hits[i]));
    return n;
}
