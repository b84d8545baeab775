// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Userspace-enriched fields (rules-compiler/fields.c: host.id, agent.id,
 * process.working_directory, process.parent.args, user.name,
 * process.parent.command_line): the kernel
 * does not fill them, so kload gives their value when a rule step
 * finished in userspace tests one, and when an event is printed.
 *
 *  replayed events   the record's own value, noted by the decoder under
 *                    the record number (entries in record order, so a
 *                    binary search finds them); null if it had none
 *  live events       read at that moment: /etc/machine-id and agent.id
 *                    (through the compiler's default: read or drawn once
 *                    per process), /proc/PID/cwd, /proc/PPID/cmdline
 *                    (its NULs as spaces for the command line, its element
 *                    count for process.parent.args_count), the passwd
 *                    entry of user.id, /proc/PID/environ; null when the
 *                    process has gone, the entry is unknown or the file
 *                    unreadable (environ needs CAP_SYS_PTRACE and
 *                    CAP_DAC_READ_SEARCH for another user's process);
 *                    destination.domain from the DNS answers the host
 *                    received before the event (loader/dns.c), null when
 *                    none named the address
 *
 * process.parent.args_count is a number: its value here is decimal text,
 * which the interpreter reads back (rules-compiler/interp.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kestrel/procfs.h"
#include "ecs_int.h"

static const char *const user_fields[KS_ECS_USER_N] = {
	[KS_ECS_U_HOST_ID] = "host.id",
	[KS_ECS_U_CWD] = "process.working_directory",
	[KS_ECS_U_PARENT_ARGS] = "process.parent.args",
	[KS_ECS_U_USER_NAME] = "user.name",
	[KS_ECS_U_PARENT_CMDLINE] = "process.parent.command_line",
	[KS_ECS_U_PARENT_ARGC] = "process.parent.args_count",
	[KS_ECS_U_ENV_VARS] = "process.env_vars",
	[KS_ECS_U_PARENT_CWD] = "process.parent.working_directory",
	[KS_ECS_U_INTERACTIVE] = "process.interactive",
	[KS_ECS_U_PARENT_INTERACTIVE] = "process.parent.interactive",
	[KS_ECS_U_SESSION_NAME] = "process.session_leader.name",
	[KS_ECS_U_GROUP_NAME] = "process.group_leader.name",
	[KS_ECS_U_DEST_DOMAIN] = "destination.domain",
	[KS_ECS_U_AGENT_ID] = "agent.id",
};

/*
 * The catalogue's entry of each enriched field, looked up once. Fields are
 * always the catalogue's own entries (ks_field_lookup hands out pointers
 * into it), so finding f is a pointer comparison per enriched field, not
 * a strcmp each time a rule reads one.
 */
static const struct ks_field_info *user_info[ARRAY_SIZE(user_fields)];
static pthread_once_t user_info_once = PTHREAD_ONCE_INIT;

static void user_info_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(user_fields); i++)
		user_info[i] = ks_field_lookup(user_fields[i]);
}

int ks_ecs_user_index(const struct ks_field_info *f)
{
	size_t i;

	pthread_once(&user_info_once, user_info_init);
	for (i = 0; f && i < ARRAY_SIZE(user_fields); i++)
		if (user_info[i] == f)
			return (int)i;
	return -1;
}

const struct ks_field_info *ks_ecs_user_info(unsigned int i)
{
	pthread_once(&user_info_once, user_info_init);
	return i < KS_ECS_USER_N ? user_info[i] : NULL;
}

const char *ks_ecs_user_name(unsigned int i)
{
	return i < KS_ECS_USER_N ? user_fields[i] : NULL;
}

int ks_ecs_user_note(struct ks_ecs_ctx *ctx, uint64_t seq, unsigned int field,
		     const char *s, size_t len)
{
	struct ks_ecs_user_val *v;
	char *copy;

	if (ctx->n_uvals == ctx->cap_uvals) {
		size_t cap = ctx->cap_uvals ? ctx->cap_uvals * 2 : 16;

		v = realloc(ctx->uvals, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ctx->uvals = v;
		ctx->cap_uvals = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = 0;
	ctx->uvals[ctx->n_uvals++] = (struct ks_ecs_user_val){
		.seq = seq, .field = field, .s = copy, .len = len };
	return 0;
}

/* Drop the values noted under seq (a record the decoder then rejected). */
void ks_ecs_user_drop(struct ks_ecs_ctx *ctx, uint64_t seq)
{
	while (ctx->n_uvals && ctx->uvals[ctx->n_uvals - 1].seq == seq)
		free(ctx->uvals[--ctx->n_uvals].s);
}

void ks_ecs_user_reset(struct ks_ecs_ctx *ctx)
{
	while (ctx->n_uvals)
		free(ctx->uvals[--ctx->n_uvals].s);
}

int ks_ecs_dns_answer(struct ks_ecs_ctx *ctx, const uint8_t *msg, size_t len, uint64_t ts_ns)
{
	if (!ctx->dns && !(ctx->dns = ks_dns_cache_new(0)))
		return -ENOMEM;
	return ks_dns_cache_answer(ctx->dns, msg, len, ts_ns);
}

void ks_ecs_dns_stats(const struct ks_ecs_ctx *ctx, struct ks_dns_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (ctx->dns)
		ks_dns_cache_stats(ctx->dns, st);
}

void ks_ecs_user_free(struct ks_ecs_ctx *ctx)
{
	ks_dns_cache_free(ctx->dns);
	ctx->dns = NULL;
	ks_ecs_user_reset(ctx);
	free(ctx->uvals);
	free(ctx->ubuf);
	ctx->uvals = NULL;
	ctx->ubuf = NULL;
	ctx->cap_uvals = 0;
}

static bool replayed_value(const struct ks_ecs_ctx *ctx, uint64_t seq,
			   unsigned int field, const char **s, size_t *len)
{
	size_t lo = 0, hi = ctx->n_uvals, mid;

	while (lo < hi) {	/* the first entry of seq */
		mid = (lo + hi) / 2;
		if (ctx->uvals[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ctx->n_uvals && ctx->uvals[lo].seq == seq; lo++) {
		if (ctx->uvals[lo].field == field) {
			*s = ctx->uvals[lo].s;
			*len = ctx->uvals[lo].len;
			return true;
		}
	}
	return false;
}

/* The number of elements of a NUL-separated value, as decimal text. */
static void count_elements(char *buf, size_t *len)
{
	unsigned long n = 1;
	size_t i;

	for (i = 0; i < *len; i++)
		n += !buf[i];
	*len = (size_t)snprintf(buf, 24, "%lu", n);
}

/* The target of the link /proc/PID/NAME (cwd, exe) into buf, whole. */
static bool read_link(uint32_t pid, const char *name, char *buf, size_t *len)
{
	ssize_t n = ks_proc_readlink(KS_PROC_ROOT, pid, name, buf, KS_ECS_UBUF);

	if (n <= 0 || n >= KS_ECS_UBUF)
		return false;
	*len = (size_t)n;
	return true;
}

/* Is /proc/PID/fd/FD the character device tty_nr (new_encode_dev)? */
static bool fd_is_tty(uint32_t pid, int fd, unsigned int tty)
{
	char path[48];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
	return !stat(path, &st) && S_ISCHR(st.st_mode) &&
	       major(st.st_rdev) == ((tty >> 8) & 0xfff) &&
	       minor(st.st_rdev) == ((tty & 0xff) | ((tty >> 12) & 0xfff00));
}

/*
 * process.interactive as ECS defines it: the process has a controlling
 * terminal and its stdin and stderr are that terminal. "true"/"false".
 */
static bool live_interactive(uint32_t pid, char *buf, size_t *len)
{
	struct ks_proc_stat st;
	bool yes;

	if (ks_proc_stat(KS_PROC_ROOT, pid, &st))
		return false;
	yes = st.tty_nr && fd_is_tty(pid, 0, st.tty_nr) && fd_is_tty(pid, 2, st.tty_nr);
	*len = (size_t)sprintf(buf, "%s", yes ? "true" : "false");
	return true;
}

/* The name (executable's basename) of the leader of pid's session or group. */
static bool live_leader(uint32_t pid, bool session, char *buf, size_t *len)
{
	struct ks_proc_stat st;
	char *slash;
	int leader;

	if (ks_proc_stat(KS_PROC_ROOT, pid, &st))
		return false;
	leader = session ? st.session : st.pgrp;
	if (leader <= 0 || !read_link((uint32_t)leader, "exe", buf, len))
		return false;
	buf[*len] = 0;
	slash = strrchr(buf, '/');
	if (!slash || !slash[1])
		return false;
	*len = strlen(slash + 1);
	memmove(buf, slash + 1, *len);
	return true;
}

static bool live_proc(struct ks_ecs_ctx *ctx, unsigned int field,
		      const struct ks_event *ev, size_t *len)
{
	char *buf = ctx->ubuf;
	ssize_t n;

	switch (field) {
	case KS_ECS_U_CWD:
		return read_link(ev->pid, "cwd", buf, len);
	case KS_ECS_U_PARENT_CWD:
		return read_link(ev->ppid, "cwd", buf, len);
	case KS_ECS_U_INTERACTIVE:
		return live_interactive(ev->pid, buf, len);
	case KS_ECS_U_PARENT_INTERACTIVE:
		return live_interactive(ev->ppid, buf, len);
	case KS_ECS_U_SESSION_NAME:
	case KS_ECS_U_GROUP_NAME:
		return live_leader(ev->pid, field == KS_ECS_U_SESSION_NAME, buf, len);
	case KS_ECS_U_ENV_VARS:
		return ks_proc_read_strings(KS_PROC_ROOT, ev->pid, "environ", buf, KS_ECS_ENVBUF,
					    len);
	default:	/* the parent's cmdline */
		if (!ks_proc_read_strings(KS_PROC_ROOT, ev->ppid, "cmdline", buf, KS_ECS_UBUF, len))
			return false;
		if (field == KS_ECS_U_PARENT_ARGC)
			count_elements(buf, len);
		else if (field == KS_ECS_U_PARENT_CMDLINE)	/* as the kernel's */
			for (n = 0; n < (ssize_t)*len; n++)
				buf[n] = buf[n] ? buf[n] : ' ';
		return true;
	}
}

/*
 * host.id and agent.id of a live event: this machine's, looked up once
 * (ks_interp_user_default() finds a field by name: three strcmp() per
 * event printed, every alert's events having host.id).
 */
static struct {
	const char *s;
	size_t len;
	bool ok;
} host_id, agent_id;
static pthread_once_t this_host_once = PTHREAD_ONCE_INIT;

static void this_host_init(void)
{
	const struct ks_field_info *h = ks_ecs_user_info(KS_ECS_U_HOST_ID);
	const struct ks_field_info *a = ks_ecs_user_info(KS_ECS_U_AGENT_ID);

	host_id.ok = h && ks_interp_user_default(h, &host_id.s, &host_id.len);
	agent_id.ok = a && ks_interp_user_default(a, &agent_id.s, &agent_id.len);
}

static bool this_host(unsigned int field, const char **s, size_t *len)
{
	pthread_once(&this_host_once, this_host_init);
	if (field == KS_ECS_U_HOST_ID) {
		*s = host_id.s;
		*len = host_id.len;
		return host_id.ok;
	}
	*s = agent_id.s;
	*len = agent_id.len;
	return agent_id.ok;
}

static bool live_value(struct ks_ecs_ctx *ctx, const struct ks_field_info *f,
		       unsigned int field, const struct ks_event *ev,
		       const char **s, size_t *len)
{
	struct passwd pw, *res = NULL;
	char *buf;

	if (field == KS_ECS_U_HOST_ID || field == KS_ECS_U_AGENT_ID)
		return this_host(field, s, len);
	if (field == KS_ECS_U_DEST_DOMAIN)	/* the name, not a reverse lookup */
		return ctx->dns && ks_dns_cache_get(ctx->dns, ev->daddr, ev->ts_ns, s, len);
	if (!ctx->ubuf && !(ctx->ubuf = malloc(KS_ECS_ENVBUF)))
		return false;
	buf = ctx->ubuf;
	if (field != KS_ECS_U_USER_NAME) {
		if (!live_proc(ctx, field, ev, len))
			return false;
	} else {
		if (getpwuid_r(ev->uid, &pw, buf + PATH_MAX, KS_ECS_UBUF - PATH_MAX,
			       &res) || !res)
			return false;
		*len = strlen(res->pw_name);
		memmove(buf, res->pw_name, *len);
	}
	*s = buf;
	return true;
}

bool ks_ecs_user_str(struct ks_ecs_ctx *ctx, const struct ks_field_info *f,
		     const struct ks_event *ev, const char **s, size_t *len)
{
	int i = ks_ecs_user_index(f);

	if (i < 0)
		return ks_interp_user_default(f, s, len);
	return ks_ecs_user_str_i(ctx, (unsigned int)i, f, ev, s, len);
}

bool ks_ecs_user_str_i(struct ks_ecs_ctx *ctx, unsigned int i, const struct ks_field_info *f,
		       const struct ks_event *ev, const char **s, size_t *len)
{
	if (f->present && !(ev->present & f->present))
		return false;
	if (ev->source == KS_SRC_REPLAY)
		return ev->seq && replayed_value(ctx, ev->seq, i, s, len);
	return live_value(ctx, f, i, ev, s, len);
}
