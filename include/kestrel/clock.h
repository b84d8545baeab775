/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one monotonic clock kload's timings read (reload phases, replay's
 * runner, sink deadlines, metrics, load times). clock_gettime is
 * async-signal-safe, so the SIGHUP handler may read it too.
 */
#ifndef KESTREL_CLOCK_H
#define KESTREL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ks_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* KESTREL_CLOCK_H */
