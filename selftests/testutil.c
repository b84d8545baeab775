// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/ecs.h"
#include "kestrel/replay.h"
#include "testutil.h"
#include "kestrel.skel.h"
#include "test_progs.h"

int ks_tenv_compile(struct ks_tenv *te, const char *yaml)
{
	struct ks_compile_info info = {};
	int err;

	te->rs = ks_ruleset_new();
	te->t = calloc(1, sizeof(*te->t));
	if (!te->rs || !te->t)
		return -ENOMEM;
	if (!yaml)
		return 0;
	if (ks_ruleset_load_string(te->rs, yaml, "<selftest>") ||
	    ks_diags_errors(&te->rs->diags)) {
		ks_diags_print(&te->rs->diags, stderr);
		return -EINVAL;
	}
	err = ks_compile(te->rs, te->t, &info);
	if (err || ks_diags_errors(&te->rs->diags)) {
		ks_diags_print(&te->rs->diags, stderr);
		ks_compile_info_free(&info);
		return -EINVAL;
	}
	ks_compile_info_free(&info);
	return 0;
}

static int on_event(void *ctx, const struct ks_event *ev)
{
	struct ks_tenv *te = ctx;

	if (te->n == te->cap) {
		size_t cap = te->cap ? te->cap * 2 : 64;
		struct ks_event *n = realloc(te->evs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		te->evs = n;
		te->cap = cap;
	}
	te->evs[te->n++] = *ev;
	return 0;
}

int ks_tenv_load(struct ks_tenv *te, const struct ks_engine_opts *o)
{
	struct ks_session_opts so = { .clock = KS_CLOCK_BOOT, .events_only = true,
				      .on_event = on_event, .arg = te };
	struct ks_engine_opts opts = *o;
	int err;

	opts.judge_self = true;
	/* the size class `kload attach` picks, unless the test names one */
	if (!opts.dfa_bytes && te->t && te->t->hdr.magic == KS_TABLES_MAGIC)
		opts.dfa_bytes = ks_dfa_size_auto(te->t);
	err = ks_engine_load(&te->e, &opts);
	if (err)
		return err;
	te->loaded = true;
	if (te->t && te->t->hdr.magic == KS_TABLES_MAGIC) {
		err = ks_engine_install(&te->e, te->t);
		if (err) {
			fprintf(stderr, "ks_tenv_load: installing tables: %s\n", strerror(-err));
			return err;
		}
	}
	err = ks_session_init(&te->s, &so);
	if (!err)
		err = ks_session_open_rb(&te->s, ks_engine_events_fd(&te->e));
	if (err)
		fprintf(stderr, "ks_tenv_load: ring buffer: %s\n", strerror(-err));
	return err;
}

/*
 * As kload's reload takes a .kbin: the tables written into a staged map's
 * own pages (ks_tables_stage()), installed with no copy; the copy where
 * the maps cannot be mapped.
 */
static int install_staged(struct ks_tenv *te)
{
	struct ks_tables *s = ks_tables_stage(&te->e);
	int err;

	if (!s)
		return ks_engine_install(&te->e, te->t);
	memcpy(s, te->t, KS_TABLES_USED(te->t));
	if (KS_TABLES_HAS_FDR(te->t))	/* past the map, as a .kbin read puts it */
		memcpy(&s->fdr, &te->t->fdr, sizeof(s->fdr));
	err = ks_engine_install(&te->e, s);
	te->t->hdr.generation = s->hdr.generation;
	ks_tables_unstage(&te->e);
	return err;
}

int ks_tenv_swap(struct ks_tenv *te, const char *yaml)
{
	int err;

	if (te->rs)
		ks_ruleset_free(te->rs);
	free(te->t);
	te->rs = NULL;
	te->t = NULL;
	err = ks_tenv_compile(te, yaml);
	/* as kload's reload: hooks the new rules need first, then the switch */
	if (!err)
		err = ks_engine_need(&te->e, te->t->hdr.action_mask);
	return err ? err : install_staged(te);
}

int ks_tenv_attach(struct ks_tenv *te)
{
	return ks_engine_attach(&te->e);
}

/* One test run of the events packed in ctx, then what they forwarded. */
static int replay_run(struct ks_tenv *te, struct ks_replay_ctx *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = ctx, .ctx_size_in = ks_replay_ctx_size(ctx));
	int err = 0;

	if (bpf_prog_test_run_opts(bpf_program__fd(te->e.skel->progs.ks_replay), &o))
		err = -errno;
	ctx->n = ctx->len = 0;
	ks_tenv_drain(te, 0);
	te->test_runs++;
	return err;
}

int ks_tenv_replay_n(struct ks_tenv *te, const struct ks_event *evs, size_t n,
		     unsigned int per_run)
{
	struct ks_replay_ctx *ctx = calloc(1, sizeof(*ctx));
	size_t i;
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		if (ks_replay_pack(ctx, &evs[i], per_run))
			continue;
		te->bytes_full += ctx->n < per_run && ctx->n < KS_REPLAY_BATCH;
		err = replay_run(te, ctx);
		if (!err && !ks_replay_pack(ctx, &evs[i], per_run))
			err = -E2BIG;
	}
	if (!err && ctx->n)
		err = replay_run(te, ctx);
	free(ctx);
	return err;
}

int ks_tenv_replay(struct ks_tenv *te, const struct ks_event *evs, size_t n)
{
	return ks_tenv_replay_n(te, evs, n, KS_REPLAY_BATCH);
}

int ks_tenv_event(const char *json, struct ks_event *ev)
{
	struct ks_ecs_ctx ecs;
	char err[256];
	int ret = -EINVAL;

	ks_ecs_init(&ecs, "selftest");
	if (!ks_ecs_decode_line(&ecs, json, strlen(json), ev, err, sizeof(err)))
		ret = 0;
	else
		fprintf(stderr, "ks_tenv_event: %s\n", err);
	ks_ecs_free(&ecs);
	return ret;
}

int ks_tenv_drain(struct ks_tenv *te, int timeout_ms)
{
	size_t before = te->n;

	ks_session_poll(&te->s, timeout_ms);
	return te->n - before;
}

const char *ks_tenv_str(const struct ks_event *ev, int f, char *buf, size_t len)
{
	size_t n;

	buf[0] = 0;
	if (f <= 0 || f >= KS_F_STR_N)
		return buf;
	n = ev->str[f].len < len - 1 ? ev->str[f].len : len - 1;
	if (ev->str[f].off + n <= sizeof(*ev))
		memcpy(buf, (const char *)ev + ev->str[f].off, n);
	buf[n] = 0;
	return buf;
}

const struct ks_event *ks_tenv_find_exe(const struct ks_tenv *te, const char *suffix)
{
	char buf[KS_PATH_MAX + 1];
	size_t i, sl = strlen(suffix);

	for (i = 0; i < te->n; i++) {
		const char *exe = ks_tenv_str(&te->evs[i], KS_F_PROCESS_EXECUTABLE, buf,
					      sizeof(buf));
		size_t el = strlen(exe);

		if (el >= sl && !strcmp(exe + el - sl, suffix))
			return &te->evs[i];
	}
	return NULL;
}

int ks_tenv_rule(const struct ks_tenv *te, const char *id)
{
	size_t i;

	for (i = 0; i < te->rs->n_rules; i++)
		if (!strcmp(te->rs->rules[i].id, id))
			return i;
	return -1;
}

bool ks_tenv_matched(const struct ks_tenv *te, const struct ks_event *ev, int rule,
		     bool completed)
{
	unsigned int i;

	for (i = 0; i < ev->verdict.n_match && i < KS_MAX_MATCH; i++) {
		const struct ks_match *m = &ev->verdict.match[i];

		if (m->step >= KS_MAX_STEPS || te->t->steps[m->step].rule != rule)
			continue;
		if (!(m->flags & KS_M_EXACT))
			continue;
		if (completed && !(m->flags & KS_M_COMPLETED))
			continue;
		return true;
	}
	return false;
}

int ks_tenv_cut_flag(const struct ks_tenv *te, const struct ks_event *ev, int rule)
{
	size_t i;

	for (i = 0; i < ev->verdict.n_match && i < KS_MAX_MATCH; i++)
		if (te->t->steps[ev->verdict.match[i].step % KS_MAX_STEPS].rule == rule)
			return !!(ev->verdict.match[i].flags & KS_M_CUT);
	return -1;
}

int ks_tenv_stats(const struct ks_tenv *te, struct ks_stats *st)
{
	return ks_stats_sum(ks_engine_stats_fd(&te->e), st);
}

int ks_tenv_rule_stats(const struct ks_tenv *te, const char *id, struct ks_rule_stats *rs)
{
	int r = ks_tenv_rule(te, id);

	memset(rs, 0, sizeof(*rs));
	if (r < 0)
		return -EINVAL;
	return ks_rule_stats_sum(te->e.rule_stats_fd, te->t->rules[r].uid, rs);
}

void ks_tenv_detach(struct ks_tenv *te)
{
	int i;

	for (i = 0; i < te->e.n_links; i++)
		bpf_link__destroy(te->e.links[i]);
	te->e.n_links = 0;
	usleep(50000);	/* programs already running finish */
}

void ks_tenv_close(struct ks_tenv *te)
{
	ks_session_fini(&te->s);
	if (te->loaded)
		ks_engine_destroy(&te->e);
	if (te->rs)
		ks_ruleset_free(te->rs);
	free(te->t);
	free(te->evs);
	memset(te, 0, sizeof(*te));
}

/*
 * Only a missing kernel feature is a skip: lsm mode needs "bpf" in the
 * active LSMs and a BPF LSM program the kernel accepts (EPERM where it
 * refuses). Any other load failure is a test failure.
 */
bool ks_tenv_mode_available(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_engine e;
	int err = ks_engine_load(&e, &o);

	if (!err) {
		ks_engine_destroy(&e);
		return true;
	}
	if (mode == KS_MODE_LSM && (err == -EOPNOTSUPP || err == -EPERM)) {
		test__skip("lsm mode unavailable on this kernel: %s", e.lsm_why);
		return false;
	}
	test__fail();
	fprintf(stderr, "%s mode: loading the BPF programs failed: %s\n", ks_mode_name(mode),
		strerror(-err));
	return false;
}

int ks_tenv_load_mode(struct ks_tenv *te, const struct ks_engine_opts *o)
{
	int err = ks_tenv_load(te, o);

	if (err && o->mode == KS_MODE_LSM && (err == -EOPNOTSUPP || err == -EPERM)) {
		test__skip("lsm mode unavailable on this kernel: %s", te->e.lsm_why);
		return 1;
	}
	return err;
}

char *ks_tenv_alerts(struct ks_tenv *te, const char *yaml)
{
	/* the boot clock for ks_lost's events, as te->s had for the others */
	struct ks_session_opts so = { .clock = KS_CLOCK_BOOT };
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_session s = {};
	char *text = NULL;
	size_t i;

	so.alerts = ks_output_memory();
	if (!rs || !so.alerts || ks_ruleset_load_string(rs, yaml, "<selftest>") ||
	    ks_session_init(&s, &so) || ks_pipeline_set_rules(s.p, rs, te->t))
		goto out;
	rs = NULL;	/* the pipeline's */
	for (i = 0; i < te->n; i++) {
		struct ks_event ev = te->evs[i];	/* normalized when it arrived */

		ks_session_event(&s, &ev);
	}
	if (te->loaded && !ks_session_open_lost(&s, &te->e, false))
		ks_session_consume(&s);
	text = strdup(ks_output_text(so.alerts, NULL));
out:
	ks_session_fini(&s);
	if (rs)
		ks_ruleset_free(rs);
	ks_output_close(so.alerts);
	return text;
}

int ks_run_exe(const char *path, const char *argv0, pid_t *pid)
{
	char *const argv[] = { (char *)argv0, NULL };
	int status = -1;
	pid_t child = fork();

	if (child == 0) {
		execv(path, argv);
		_exit(100 + errno);
	}
	waitpid(child, &status, 0);
	if (pid)
		*pid = child;
	return status;
}

const char *ks_bin(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/bin/%s", name);
	if (access(buf, X_OK))
		snprintf(buf, len, "/usr/bin/%s", name);
	return buf;
}

__u64 ks_stats_dropped(const struct ks_stats *st, int src)
{
	__u64 n = 0;
	int r;

	for (r = 0; r < KS_DROP_N; r++)
		n += st->dropped[src][r];
	return n;
}

bool ks_stats_identity(const struct ks_stats *st, int src)
{
	return st->events[src] == st->filtered[src] + st->forwarded[src] +
				   ks_stats_dropped(st, src);
}

int ks_copy_exe(const char *src, const char *dst)
{
	char buf[65536];
	FILE *in = fopen(src, "rb"), *out;
	size_t n;

	if (!in)
		return -errno;
	unlink(dst);
	out = fopen(dst, "wb");
	if (!out) {
		fclose(in);
		return -errno;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	if (fclose(out))
		return -errno;
	return chmod(dst, 0755) ? -errno : 0;
}

const char *ks_tenv_source(const struct ks_tenv *te, const char *kind)
{
	const struct ks_hook_info *h;
	int i;

	for (i = 0; i < te->e.n_links; i++) {
		h = ks_hook_info(bpf_program__name(te->e.link_prog[i]));
		if (h && !strcmp(h->kind, kind))
			return h->source;
	}
	return NULL;
}
