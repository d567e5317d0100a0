/* Shared by the libFuzzer targets: each defines fuzz_one(); this times every input and writes
 * the slowest so far to $FUZZ_STATS (libFuzzer reports executions, not the longest run). */
#ifndef SI_FUZZ_H
#define SI_FUZZ_H

#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fuzz_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static double max_ms;
	struct timespec a, b;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	fuzz_one(data, size);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	if (ms > max_ms) {
		const char *f = getenv("FUZZ_STATS");
		FILE *o;

		max_ms = ms;
		if (f && (o = fopen(f, "w"))) {
			fprintf(o, "{\"maxMs\":%.3f,\"size\":%zu}\n", ms, size);
			fclose(o);
		}
	}
	return 0;
}

/* The input as a NUL-terminated string in a buffer of exactly size + 1
 * bytes (ASan sees a read past the NUL); NULL when out of memory. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (buf) {
		memcpy(buf, data, size);
		buf[size] = '\0';
	}
	return buf;
}

/* Reads every byte of a string the code under test produced (ASan sees overruns). */
static inline size_t fuzz_touch(const char *s, size_t cap)
{
	size_t n = 0;

	while (n < cap && s[n])
		n++;
	if (n == cap)
		abort(); /* not NUL-terminated inside its buffer */
	return n;
}

#endif
