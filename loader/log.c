// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "kestrel/log.h"

int ks_log_level = KS_LOG_WARN;
static int libbpf_quiet;

void ks_log(enum ks_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl > ks_log_level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings are our info, its info our debug */
	int lvl = level == LIBBPF_WARN ? KS_LOG_INFO : KS_LOG_DEBUG;

	if (libbpf_quiet || lvl > ks_log_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void ks_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void ks_log_libbpf_quiet(int quiet)
{
	libbpf_quiet = quiet;
}
