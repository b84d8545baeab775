// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The global subprograms of the task field fill (ks_task.bpf.h), verified
 * once each; linked into kestrel.bpf.o like eval.bpf.c.
 */
#include "ks_task.bpf.h"

/*
 * Offset just past the last `ch` in a value (0 when there is none):
 * process.name and file.name follow the last '/', file.extension the
 * last '.' of the name.
 */
__noinline int ks_after_last(struct ks_scratch *sc, __u32 off, __u32 len, __u32 ch)
{
	__u8 *base;
	__u32 i, after = 0;

	if (!sc)
		return 0;
	base = (__u8 *)&sc->ev;
	for (i = 0; i < KS_PATH_MAX; i++) {
		__u32 pos = off + i;

		if (i >= len || pos >= sizeof(struct ks_event))
			break;
		if (base[ks_bound(pos, 0xfff)] == ch)
			after = i + 1;
	}
	return after;
}

/* Count NUL-separated elements; the count also fixes a missing terminator. */
__noinline int ks_count_args(struct ks_scratch *sc, __u32 len)
{
	__u32 i, n = 0;

	if (!sc)
		return 0;
	for (i = 0; i < KS_ARGS_MAX; i++) {
		if (i >= len)
			break;
		if (!sc->ev.args[i])
			n++;
	}
	return n;
}
