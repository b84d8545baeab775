// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Helpers shared by the benchmarks; see bench_common.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bench_common.h"
#include "kestrel/clock.h"

char *kb_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

const char *kb_cmd(const char *prog, const char *fmt, ...)
{
	va_list ap;
	char *args = NULL;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) < 0)
		args = NULL;
	va_end(ap);
	s = kb_fmt("%s%s%s", prog, args && *args ? " " : "", args ? args : "");
	free(args);
	return s;
}

void kb_emit(const struct kb_result *r)
{
	json_t *o = json_object();
	json_t *x = NULL;
	int i;

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "figure", json_string(r->figure ? r->figure : r->name));
	if (r->has_value && isfinite(r->value))
		json_object_set_new(o, "value", json_real(r->value));
	else
		json_object_set_new(o, "value", json_null());
	json_object_set_new(o, "unit", json_string(r->unit ? r->unit : ""));
	if (r->target)
		json_object_set_new(o, "target", json_string(r->target));
	if (r->baseline)
		json_object_set_new(o, "baseline", json_string(r->baseline));
	if (r->has_ratio && isfinite(r->ratio))
		json_object_set_new(o, "ratio", json_real(r->ratio));
	if (r->command)
		json_object_set_new(o, "command", json_string(r->command));
	if (r->group)
		json_object_set_new(o, "group", json_string(r->group));
	if (r->headline)
		json_object_set_new(o, "headline", json_true());
	if (!r->has_value)
		json_object_set_new(o, "reason", json_string(r->reason ? r->reason : "not measured"));
	if (r->note)
		json_object_set_new(o, "note", json_string(r->note));
	for (i = 0; i < KB_EXTRA_N && r->xk[i]; i++) {
		if (!x)
			x = json_object();
		json_object_set_new(x, r->xk[i], isfinite(r->xv[i]) ? json_real(r->xv[i]) : json_null());
	}
	if (x)
		json_object_set_new(o, "extra", x);
	json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

uint64_t kb_now_ns(void)
{
	return ks_mono_ns();
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double kb_median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_d);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double kb_mean(const double *v, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += v[i];
	return n ? s / n : NAN;
}

void kb_rng_seed(struct kb_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t kb_rng_next(struct kb_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint32_t kb_rng_range(struct kb_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(kb_rng_next(r) % (hi - lo + 1));
}

#define KB_FLUSH_BYTES (64u << 20)

void kb_cache_flush(void)
{
	static volatile uint8_t *buf;
	static uint8_t round;
	size_t i;

	if (!buf) {
		buf = malloc(KB_FLUSH_BYTES);
		if (!buf)
			return;
	}
	round++;
	for (i = 0; i < KB_FLUSH_BYTES; i += 64)
		buf[i] = round;
}

long kb_rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6)) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

struct ks_tables *kb_compile(const char *yaml, struct ks_ruleset **rs_out,
			     struct ks_compile_info *info, char *err, size_t errlen)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_tables *t = calloc(1, sizeof(*t));
	size_t i;

	err[0] = 0;
	memset(info, 0, sizeof(*info));
	if (!rs || !t) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (ks_ruleset_load_string(rs, yaml, "<bench>") || ks_diags_errors(&rs->diags))
		goto diag;
	if (ks_compile(rs, t, info) || ks_diags_errors(&rs->diags))
		goto diag;
	if (rs_out)
		*rs_out = rs;
	else
		ks_ruleset_free(rs);
	return t;
diag:
	for (i = 0; i < rs->diags.n; i++)
		if (rs->diags.v[i].level == KS_DIAG_ERROR) {
			snprintf(err, errlen, "%s", rs->diags.v[i].msg);
			break;
		}
	if (!err[0])
		snprintf(err, errlen, "compile failed");
fail:
	if (rs)
		ks_ruleset_free(rs);
	free(t);
	return NULL;
}

void kb_buf_printf(struct kb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->n;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && (size_t)n < room) {
			b->n += n;
			return;
		}
		b->cap = (b->cap + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

void kb_buf_free(struct kb_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

size_t kb_parse_list(const char *s, unsigned long *v, size_t n)
{
	size_t k = 0;
	char *end;

	while (*s && k < n) {
		v[k++] = strtoul(s, &end, 10);
		if (*end != ',')
			break;
		s = end + 1;
	}
	return k;
}

/* ---- background kload ---- */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int kb_kload_start(struct kb_kload *k, const char *kload, const char *pin_dir,
		   const char *rules, const char *extra_args)
{
	char cmd[2048], line[400];
	size_t ll = 0;
	uint64_t t0;
	int pfd[2];

	memset(k, 0, sizeof(*k));
	k->pid = -1;
	k->err_fd = -1;
	if (pipe(pfd))
		return -1;
	/* alerts nowhere, unless the caller names where */
	snprintf(cmd, sizeof(cmd), "exec %s attach --pin-dir %s --detach-on-exit %s %s %s",
		 kload, pin_dir, extra_args && strstr(extra_args, "--alerts") ? "" :
		 "--alerts /dev/null", extra_args ? extra_args : "", rules);
	t0 = kb_now_ns();
	k->pid = fork();
	if (k->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (!k->pid) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	k->err_fd = pfd[0];
	/* read stderr lines until "attached" (30 s at most) */
	for (;;) {
		struct pollfd p = { .fd = k->err_fd, .events = POLLIN };
		char c;
		ssize_t n;

		if (poll(&p, 1, 30000) <= 0) {
			snprintf(k->why, sizeof(k->why), "kload attach: no \"attached\" line in 30 s");
			return -1;
		}
		n = read(k->err_fd, &c, 1);
		if (n <= 0) {
			int st = 0;

			waitpid(k->pid, &st, 0);
			k->pid = -1;
			if (!k->why[0])
				snprintf(k->why, sizeof(k->why), "kload attach exited (status %d)",
					 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			return -1;
		}
		if (c != '\n') {
			if (ll < sizeof(line) - 1)
				line[ll++] = c;
			continue;
		}
		line[ll] = 0;
		ll = 0;
		if (strlen(k->log) + strlen(line) + 2 < sizeof(k->log)) {
			strcat(k->log, line);
			strcat(k->log, "\n");
		}
		if (strstr(line, "kload: attached")) {
			k->attach_ms = (kb_now_ns() - t0) / 1e6;
			/* kload installs its signal handlers right after this line */
			usleep(300000);
			return 0;
		}
		snprintf(k->why, sizeof(k->why), "kload attach: %s", line);
	}
}

void kb_kload_stop(struct kb_kload *k, const char *kload, const char *pin_dir)
{
	char cmd[1024];
	int i, st;

	if (k->pid > 0) {
		kill(k->pid, SIGTERM);
		for (i = 0; i < 500; i++) {
			if (waitpid(k->pid, &st, WNOHANG) == k->pid)
				break;
			usleep(10000);
		}
		if (i == 500) {
			kill(k->pid, SIGKILL);
			waitpid(k->pid, &st, 0);
		}
	}
	if (k->err_fd >= 0)
		close(k->err_fd);
	k->pid = -1;
	k->err_fd = -1;
	snprintf(cmd, sizeof(cmd), "%s detach --pin-dir %s >/dev/null 2>&1", kload, pin_dir);
	if (system(cmd) < 0)
		return;
}

/* ---- generated rule sets ---- */

static void kb_word(struct kb_rng *r, char *buf, size_t len)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = a[kb_rng_next(r) % (sizeof(a) - 1)];
	buf[len] = 0;
}

static void kb_word_lc(struct kb_rng *r, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = 'a' + kb_rng_next(r) % 26;
	buf[len] = 0;
}

char *kb_gen_host_rules(size_t n, uint64_t seed)
{
	return kb_gen_host_rules_ex(n, seed, NULL);
}

char *kb_gen_host_rules_ex(size_t n, uint64_t seed, struct kb_buf *exes)
{
	struct kb_buf b = {};
	struct kb_rng r;
	char w1[32], w2[32];
	size_t i;

	kb_rng_seed(&r, seed);
	for (i = 0; i < n; i++) {
		kb_word(&r, w1, kb_rng_range(&r, 4, 10));
		kb_word(&r, w2, kb_rng_range(&r, 4, 10));
		kb_buf_printf(&b, "- rule: host_%zu\n  name: generated host rule %zu\n  query: |\n    ",
			      i, i);
		switch (i % 6) {
		case 0:
			kb_buf_printf(&b, "process where event.action == \"exec\" and "
				      "process.executable == \"/opt/%s/bin/%s\"\n", w1, w2);
			if (exes)
				kb_buf_printf(exes, "/opt/%s/bin/%s\n", w1, w2);
			break;
		case 1:
			kb_buf_printf(&b, "process where event.action == \"exec\" and "
				      "process.executable : \"/srv/%s/*\" and process.name : \"*%s*\"\n",
				      w1, w2);
			break;
		case 2:
			kb_buf_printf(&b, "process where event.action == \"exec\" and "
				      "process.args : \"--%s-%s\"\n", w1, w2);
			break;
		case 3:
			kb_buf_printf(&b, "file where event.action == \"open\" and "
				      "file.path == \"/var/lib/%s/%s.db\"\n", w1, w2);
			break;
		case 4:
			kb_buf_printf(&b, "file where event.action == \"open\" and "
				      "file.path : \"/home/*/%s/%s*\"\n", w1, w2);
			break;
		default:
			kb_buf_printf(&b, "file where event.action == \"open\" and "
				      "file.name : \"*%s*.%s\"\n", w1, w2);
			break;
		}
	}
	return b.s;
}

char *kb_gen_seq_rules(size_t n, uint64_t seed, bool compact)
{
	struct kb_buf b = {};
	struct kb_rng r;
	char w1[32], w2[32];
	size_t i;

	kb_rng_seed(&r, seed);
	for (i = 0; i < n; i++) {
		if (compact) {
			kb_word_lc(&r, w1, kb_rng_range(&r, 4, 6));
			kb_word_lc(&r, w2, kb_rng_range(&r, 4, 6));
		} else {
			kb_word(&r, w1, kb_rng_range(&r, 6, 10));
			kb_word(&r, w2, kb_rng_range(&r, 6, 10));
		}
		kb_buf_printf(&b, "- rule: seq_%zu\n  name: generated sequence %zu\n  query: |\n"
			      "    sequence by process.entity_id with maxspan=5m\n"
			      "      [process where event.action == \"exec\" and "
			      "process.executable == \"/opt/%s/bin/%s\"]\n"
			      "      [file where event.action == \"open\" and "
			      "file.path : \"/var/tmp/%s/*\"]\n", i, i, w1, w2, w1);
	}
	return b.s;
}

int kb_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}
