// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload attach and kload record.
 *
 * attach loads (or adopts) the programs, installs the tables, pins
 * everything under the pin directory, and then runs a session (the ring
 * buffer consumer, loader/session.c) until SIGINT/SIGTERM; SIGHUP takes
 * a reload (loader/reload.c). It holds an flock on the pin directory for
 * its whole life, so a second attach, a reload's direct swap or a detach
 * cannot race it. record is attach without alerts, writing every
 * forwarded event: it pins nothing, adopts nothing, and removes what it
 * attached when it stops.
 *
 * About 920 lines, the steps of one process's life that attach and
 * record share: start-up (load, adopt, pin), the run loop with its
 * reload hand-over, and the teardown. The ring-buffer consumer is
 * session.c, the admin commands cmd_admin.c.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <net/if.h>
#include <linux/capability.h>
#include <dirent.h>
#include <signal.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/clock.h"
#include "kestrel/engine.h"
#include "kestrel/http.h"
#include "kestrel/log.h"
#include "kestrel/running.h"
#include "kestrel/sd.h"
#include "kestrel/session.h"
#include "kestrel/sink.h"
#include "kestrel/xdp.h"
#include "cli.h"
#include "cfgfile.h"
#include "reload.h"

#define KS_MAX_XDP	KS_CTL_MAX_XDP

/*
 * already_running events handed to the pipeline per loop turn: the ring
 * buffer is read between two slices, so a host with 100,000 processes
 * does not hold up the kernel's events while kload reads /proc.
 */
#define KS_RUNNING_SLICE	256

/* what is still queued for an output gets this long when kload stops */
#define KS_DRAIN_MS	5000

static volatile sig_atomic_t ks_stop, ks_reload, ks_reopen;
static struct ks_reload_clock ks_reload_clock;

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		/* the first of a request's SIGHUPs (clock_gettime: signal-safe) */
		if (!ks_reload)
			ks_reload_clock.sig = ks_mono_ns();
		ks_reload = 1;
	} else if (sig == SIGUSR1) {
		ks_reopen = 1;
	} else {
		ks_stop = 1;
	}
}

struct attach_args {
	const char *config;
	const char *pin_dir;
	const char *alerts_path;
	const char *metrics;
	const char *record_path;
	const char *xdp[KS_MAX_XDP];
	int n_xdp;
	const char *outputs[KS_MAX_OUTPUTS];
	int n_outputs;
	int mode;
	bool no_host;
	bool detach_on_exit;
	__u32 payload_depth;
	__u32 time_every;
	__u32 entities;
	__u32 ringbuf_bytes;
	__u32 dfa_bytes;	/* --dfa-size; 0 = auto */
	__u64 nfa_entries;
	__u64 nfa_memory;
	struct ks_cli_select sel;
};

struct ks_attach {
	struct attach_args o;
	bool record_only;
	struct ks_engine e;
	bool adopted;
	struct ks_session s;
	struct ks_output *alerts, *record;
	struct ks_sinks *sinks;		/* attach: the alert outputs behind alerts */
	struct ks_cfgfile cfg;		/* attach: the configuration file's values */
	struct ks_http *http;
	int lock_fd;
	struct ks_xdp_set *xs;
	pthread_t open_tid;	/* ks_engine_open() while the rules compile */
	bool opening;
	int open_err;
	struct ks_running *running;	/* the already_running walk, while it lasts */
	struct ks_event *run_ev;
	struct timespec run_t0;
	double run_list_ms;	/* of which listing the processes */
};

#define ATTACH_OPT_XDP								\
	{ .name = "xdp", .type = KS_OPT_STR_MULTI, KS_OPT_AT(struct attach_args, xdp), \
	  .count_off = offsetof(struct attach_args, n_xdp), .max = KS_MAX_XDP,	\
	  .metavar = "IFACE", .help = "also inspect packets arriving on IFACE (repeatable)" }
#define ATTACH_OPTS_KERNEL							\
	KS_OPT_ENUM_(struct attach_args, mode, "mode", "MODE", &ks_mode_names,	\
		     "auto (default), lsm, signal or observe"),			\
	KS_OPT_UINT_(struct attach_args, payload_depth, "payload-depth", "N", 1,	\
		     KS_PAYLOAD_MAX, "payload bytes scanned per packet (default 256)"), \
	{ .name = "time-every", .type = KS_OPT_UINT,				\
	  KS_OPT_AT(struct attach_args, time_every), .min = 1,			\
	  .max = KS_TIME_EVERY_MAX, .check = ks_time_every_check, .metavar = "N", \
	  .help = "time one event in N (a power of two; default 16)\n"	\
	  "for kestrel_kernel_eval_seconds: two clock reads\n"		\
	  "each, a tenth of a packet's kernel time in a VM" },		\
	KS_OPT_UINT_(struct attach_args, entities, "entities", "N", 1, 1u << 24,	\
		     "kernel sequence state entries (default 65536)"),		\
	KS_OPT_SIZE_(struct attach_args, ringbuf_bytes, "ringbuf-size", KS_RINGBUF_MIN, \
		     KS_RINGBUF_MAX, ks_ringbuf_size_check,				\
		     "kernel-to-kload ring buffer (default 4M): a power of\n"	\
		     "two, a multiple of the page size, 4K..1G; kernel memory\n" \
		     "(kload maps 256K of it at a time). Events it\n"		\
		     "has no room for are counted as dropped; enforcements\n"	\
		     "among them still get an \"enforced, event lost\" alert"), \
	KS_OPT_SIZE_(struct attach_args, dfa_bytes, "dfa-size", KS_DFA_MIN_TAB_BYTES, \
		     KS_DFA_MAX_CLASS, ks_dfa_size_check,				\
		     "the largest string automaton (DFA) any reload may\n"	\
		     "install: a power of two, 64K..16M (default: what the\n"	\
		     "rules need, at least 1M). Kernel memory: the tables\n"	\
		     "map holds it; a reload needing more is refused")

static const struct ks_opt attach_opts[] = {
	ATTACH_OPT_XDP,
	KS_OPT_FLAG_(struct attach_args, no_host, "no-host",
		     "no process/file/network hooks (XDP only)"),
	KS_OPT_STR_(struct attach_args, alerts_path, "alerts", "PATH|-",
		    "alerts to the file PATH (= --output file:PATH)\n"
		    "or - (stdout, the default when no --output)"),
	{ .name = "output", .type = KS_OPT_STR_MULTI, KS_OPT_AT(struct attach_args, outputs),
	  .count_off = offsetof(struct attach_args, n_outputs), .max = KS_MAX_OUTPUTS,
	  .metavar = "URI", .help = "also send alerts there (repeatable): -, file:PATH,\n"
	  "syslog:[SOCKET], syslog+udp://HOST:PORT,\n"
	  "syslog+tcp://HOST:PORT, journald:,\n"
	  "nats://HOST:PORT[,HOST:PORT...]/SUBJECT;\n"
	  "?queue=N bounds its queue (default 10000)" },
	KS_OPT_STR_(struct attach_args, metrics, "metrics", "ADDR:PORT",
		    "serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		    "(ADDR defaults to 127.0.0.1 when only :PORT is given)"),
	KS_OPT_PIN_DIR(struct attach_args, pin_dir),
	ATTACH_OPTS_KERNEL,
	KS_OPT_UINT_(struct attach_args, nfa_entries, "nfa-entries", "N", 1, 1u << 26,
		     "pending sequences kept in userspace (default 100000;\n"
		     "the least recently used is evicted and counted)"),
	KS_OPT_SIZE_(struct attach_args, nfa_memory, "nfa-memory", KS_NFA_MEMORY_MIN,
		     KS_NFA_MEMORY_MAX, NULL,
		     "memory those may hold, with their events and join\n"
		     "keys (default 64M; K, M, G suffixes; 64K..1024G);\n"
		     "past it the least recently used are evicted, counted"),
	KS_OPT_FLAG_(struct attach_args, detach_on_exit, "detach-on-exit",
		     "remove programs and pins when kload exits; by\n"
		     "default they stay attached and pinned so detection\n"
		     "and enforcement survive a kload restart, and a new\n"
		     "`kload attach` adopts them (use `kload detach`)"),
	KS_OPT_STR_(struct attach_args, record_path, "record", "FILE.jsonl",
		    "also write every forwarded event (as `record`)"),
	KS_OPT_PATH_(struct attach_args, config, "config", "FILE", KS_CONFIG_PATH_MAX - 1,
		     "options, outputs and rules from FILE (YAML; default\n"
		     "/etc/kestrel/kestrel.yml when it exists); flags\n"
		     "given here override it"),
	KS_OPTS_SELECT(struct attach_args, sel),
	{ NULL },
};

static const struct ks_opt record_opts[] = {
	{ .name = "events", .type = KS_OPT_STR, KS_OPT_AT(struct attach_args, record_path),
	  .metavar = "FILE.jsonl", .help = "where the events go (- = stdout)", .required = true },
	ATTACH_OPT_XDP,
	ATTACH_OPTS_KERNEL,
	KS_OPTS_SELECT(struct attach_args, sel),
	{ NULL },
};

/*
 * This file's rows of kload's command table (opts.h, struct ks_cmd): the
 * same shape in every cmd_*.c by design, deliberate twins that duplicates
 * pairs (cmd_attach.c, cmd_admin.c, cmd_compile.c, cmd_reload.c,
 * cmd_replay.c).
 */
static int cmd_attach(int argc, char **argv);
static int cmd_record(int argc, char **argv);

const struct ks_cmd ks_cmd_attach = {
	.name = "attach", .run = cmd_attach, .summary = "load, attach and stream alerts",
	.args = "[RULES...|FILE.kbin]",
	.about = "Load the rule tables and BPF programs, attach them, and send alerts as\n"
		 "JSON lines to every output until SIGINT or SIGTERM. SIGHUP takes a\n"
		 "`kload reload`; SIGUSR1 reopens file: outputs (logrotate). Each output\n"
		 "has its own bounded queue and thread: a slow or dead one never stalls\n"
		 "detection, and what it cannot take is counted lost. Without RULES, the\n"
		 "configuration's rules: paths are loaded.\n"
		 "Only the hooks of events some rule can match are loaded, verified in\n"
		 "parallel; `kload -v attach` prints each program's verification.\n",
	.opts = attach_opts,
	.footer = "Exit: 0 on a clean stop, 1 runtime failure, 2 invalid rules or usage,\n"
		  "3 environment cannot run it (not root, no BTF, no bpffs, an unsafe\n"
		  "pin directory). Alerts that cannot be written are counted in\n"
		  "kestrel_alerts_lost_total{reason} and attach goes on.\n",
};

const struct ks_cmd ks_cmd_record = {
	.name = "record", .run = cmd_record, .summary = "capture normalized events",
	.args = "[RULES...|FILE.kbin]",
	.about = "Attach and write the events the kernel forwards as Event JSONL, for\n"
		 "replay and rule tests. With RULES, the events that match some rule step\n"
		 "are recorded; with none, every event the hooks see (busy hosts: many).\n"
		 "A recording pins nothing and detaches everything it attached when it\n"
		 "stops (SIGINT, SIGTERM).\n",
	.opts = record_opts,
	.footer = "Exit: 0 on a clean stop, 1 runtime failure or an event that could not\n"
		  "be written, 2 invalid rules or usage, 3 environment cannot run it.\n",
};

static int attach_xdp(struct ks_attach *a, struct ks_ctl *ctl)
{
	int i, err;

	a->xs = ks_xdp_set_new(&a->e);
	if (!a->xs)
		return -ENOMEM;
	for (i = 0; i < a->o.n_xdp; i++) {
		err = ks_xdp_attach(a->xs, a->o.xdp[i]);
		if (err) {
			pr_warn("kload: cannot attach XDP to %s: %s\n", a->o.xdp[i],
				strerror(-err));
			return err;
		}
		ctl->xdp_ifindex[ctl->n_xdp++] = if_nametoindex(a->o.xdp[i]);
	}
	return 0;
}

static int pin_all(struct ks_attach *a)
{
	int err = ks_engine_pin(&a->e, a->o.pin_dir);

	if (!err && a->xs)
		err = ks_xdp_pin(a->xs, a->o.pin_dir);
	if (err)
		pr_warn("kload: cannot pin under %s: %s\n", a->o.pin_dir, strerror(-err));
	return err;
}

/* What a previous attach left pinned still runs: take it over. */
static int adopt(struct ks_attach *a, struct ks_ruleset *rs, struct ks_tables *t)
{
	a->adopted = true;
	pr_warn("kload: adopting the programs pinned in %s (mode %s)\n", a->o.pin_dir,
		ks_mode_name(a->e.mode));
	if (a->o.n_xdp || a->o.ringbuf_bytes || a->o.payload_depth || a->o.time_every)
		pr_warn("kload: --xdp, --ringbuf-size, --payload-depth and --time-every ignored: "
			"adopted programs keep their interfaces, maps and settings; run `kload "
			"detach` first to change them\n");
	return ks_session_install(&a->s, &a->e, a->o.pin_dir, rs, t, false);
}

/* The engine's options; t (NULL before the rules compile) sizes the DFA. */
static void engine_opts(const struct ks_attach *a, const struct ks_tables *t,
			struct ks_engine_opts *eo)
{
	*eo = (struct ks_engine_opts){
		.mode = a->o.mode, .xdp = a->o.n_xdp > 0, .no_host = a->o.no_host,
		.payload_depth = a->o.payload_depth, .time_every = a->o.time_every,
		.entities = a->o.entities,
		.ringbuf_bytes = a->o.ringbuf_bytes,
		.dfa_bytes = a->o.dfa_bytes ?: t ? ks_dfa_size_auto(t) : 0,
		.prog_stats = ks_log_level >= KS_LOG_INFO,
	};
}

static void *open_thread(void *arg)
{
	struct ks_attach *a = arg;
	struct ks_engine_opts eo;

	engine_opts(a, NULL, &eo);
	a->open_err = ks_engine_open(&a->e, &eo);
	return NULL;
}

/* The lsm probe (a parse of the kernel's BTF, a program load), for ks_engine_open(). */
static void *probe_thread(void *arg)
{
	(void)arg;
	ks_engine_probe_lsm();
	return NULL;
}

/*
 * The mode and the maps do not depend on the rules once --dfa-size fixes
 * the tables' size class: set them up on a thread of their own while the
 * rules compile. When the class is the rules' (known after compile) only
 * the lsm probe runs meanwhile (in auto and lsm mode). Neither when there
 * are pins to adopt (setup_engine() takes those over).
 */
static void open_early(struct ks_attach *a)
{
	char path[KS_PIN_PATH_MAX];
	pthread_t tid;

	if (a->o.pin_dir && (ks_pin_path(path, sizeof(path), a->o.pin_dir, "ks_ctl") ||
			     !access(path, F_OK)))
		return;
	if (a->o.dfa_bytes)
		a->opening = !pthread_create(&a->open_tid, NULL, open_thread, a);
	else if (a->o.mode != KS_MODE_SIGNAL && a->o.mode != KS_MODE_OBSERVE &&
		 !pthread_create(&tid, NULL, probe_thread, NULL))
		pthread_detach(tid);
}

/* The early open's outcome: 0 (a->e is open), -errno, -EAGAIN if none ran. */
static int open_wait(struct ks_attach *a)
{
	if (!a->opening)
		return -EAGAIN;
	pthread_join(a->open_tid, NULL);
	a->opening = false;
	return a->open_err;
}

/* A previous attach's pins, when there are: they are taken over. */
static bool adoptable(struct ks_attach *a, int early)
{
	struct ks_engine pinned;

	if (!a->o.pin_dir || ks_engine_adopt(&pinned, a->o.pin_dir))
		return false;
	if (!early)
		ks_engine_destroy(&a->e);	/* pinned since open_early() looked */
	a->e = pinned;
	return true;
}

static int setup_engine(struct ks_attach *a, struct ks_ruleset *rs, struct ks_tables *t)
{
	struct ks_engine_opts eo;
	struct ks_ctl ctl = {};
	int err, early = open_wait(a);

	if (adoptable(a, early))
		return adopt(a, rs, t);
	engine_opts(a, t, &eo);
	err = early == -EAGAIN ? ks_engine_open(&a->e, &eo) : early;
	err = err ?: ks_engine_load_progs(&a->e, KS_NEED_SET | t->hdr.action_mask);
	if (err) {
		pr_warn("kload: cannot load BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root with CAP_BPF and CAP_PERFMON)" : "");
		ks_ruleset_free(rs);
		return err;
	}
	err = ks_session_install(&a->s, &a->e, a->o.pin_dir, rs, t, false);
	if (!err && !a->o.no_host) {
		err = ks_engine_attach(&a->e);
		ctl.host_hooks = KS_HOOKS_ON | a->e.loaded;
	}
	if (!err && a->o.n_xdp)
		err = attach_xdp(a, &ctl);
	if (!err && a->o.pin_dir)
		err = pin_all(a);
	if (err)
		return err;
	ctl.enforce_mode = a->e.mode;
	ctl.generation = a->e.generation;
	ctl.n_rules = t->hdr.n_rules;
	ctl.tables_bytes = KS_TABLES_VALUE_SIZE(a->e.dfa_bytes);
	ctl.started_ns = time(NULL) * 1000000000ull;
	return ks_ctl_write(a->e.ctl_fd, &ctl);
}

/*
 * The tables first, the kernel switched to them, then the rules parsed
 * (their parse was most of a .kbin reload's critical path:
 * bench/profile/kbin4-before.txt); rules that are not those of the
 * tables switch the kernel back.
 */
static int reload_install(struct ks_attach *a, struct ks_tables *t, struct ks_kbin_pending *kp,
			  struct ks_reload_clock *c, char *why, size_t len)
{
	struct ks_ruleset *rs = NULL;
	int err = ks_session_switch(&a->s, &a->e, t);

	c->install = c->rules = ks_mono_ns();
	ks_reload_taken();
	if (err) {
		ks_kbin_pending_free(kp);
		snprintf(why, len, "%s", a->s.why);
		return err;
	}
	err = ks_reload_take_rules(kp, t, &rs, why, len);
	if (err)
		ks_session_unswitch(&a->s, &a->e, t, err, why);
	else
		err = ks_session_follow(&a->s, &a->e, a->o.pin_dir, rs, t, true);
	c->rules = ks_mono_ns();
	if (err)
		snprintf(why, len, "%s", a->s.why);
	return err;
}

static void do_reload(struct ks_attach *a)
{
	struct ks_reload_clock *c = &ks_reload_clock;
	struct ks_reload_answer ans = {};
	struct ks_kbin_pending *kp;
	struct ks_tables *t;

	/* a SIGHUP again for a request already taken, or none from kload reload */
	if (!ks_reload_pending())
		return;
	c->start = ks_mono_ns();
	ks_sd_notify("RELOADING=1");
	ans.err = ks_reload_take(&a->e, &t, &kp, ans.why, sizeof(ans.why));
	c->read = c->install = c->rules = ks_mono_ns();
	if (!ans.err) {
		/* on failure the old generation stays, on both sides */
		ans.err = reload_install(a, t, kp, c, ans.why, sizeof(ans.why));
		ans.n_rules = t->hdr.n_rules;
		ks_reload_release(&a->e, t);	/* the pipeline keeps its own copy */
	}
	ans.generation = a->e.generation;
	ks_reload_reply(&ans);
	ks_reload_log(c, &ans);
	ks_sd_notify("READY=1\nSTATUS=attached: mode %s, generation %u%s", ks_mode_name(a->e.mode),
		     ans.generation, ans.err ? " (the last reload failed)" : "");
}

static double ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void running_done(struct ks_attach *a)
{
	fprintf(stderr, "kload: already_running: %zu event(s) of %zu listed task group(s) in %.1f ms (listing %.1f ms)%s\n",
		ks_running_emitted(a->running), ks_running_listed(a->running),
		ms_since(&a->run_t0), a->run_list_ms, ks_running_exact(a->running) ? "" :
		" (no task iterator: start times in clock ticks, entity ids join no kernel event)");
	ks_running_close(a->running);
	a->running = NULL;
	free(a->run_ev);
	a->run_ev = NULL;
}

/*
 * Once attached: when a rule asks for already_running events, list the
 * processes (after attaching, so one started meanwhile has its exec
 * seen or is listed) and give their events a slice per loop turn.
 */
static void running_start(struct ks_attach *a)
{
	if (a->record_only || !a->s.p || !ks_pipeline_wants_running(a->s.p))
		return;
	clock_gettime(CLOCK_MONOTONIC, &a->run_t0);
	a->run_ev = malloc(sizeof(*a->run_ev));
	a->running = a->run_ev ? ks_running_open("/proc", true) : NULL;
	a->run_list_ms = ms_since(&a->run_t0);
	if (!a->running) {
		pr_warn("kload: no already_running events: cannot list processes: %s\n",
			strerror(errno));
		free(a->run_ev);
		a->run_ev = NULL;
	}
}

static void running_slice(struct ks_attach *a)
{
	int i;

	for (i = 0; i < KS_RUNNING_SLICE; i++) {
		if (ks_running_next(a->running, a->run_ev) <= 0) {
			running_done(a);
			return;
		}
		ks_session_user_event(&a->s, a->run_ev);
	}
}

static void teardown(struct ks_attach *a)
{
	struct ks_ctl ctl;
	bool detach = a->o.detach_on_exit;

	if (!a->record_only)
		ks_sd_notify("STOPPING=1");

	if (a->e.ctl_fd >= 0 && !ks_ctl_read(a->e.ctl_fd, &ctl)) {
		ctl.kload_pid = 0;
		ks_ctl_write(a->e.ctl_fd, &ctl);
	}
	ks_http_stop(a->http);
	open_wait(a);
	if (a->running)	/* stopped before the walk was done */
		running_done(a);
	ks_session_fini(&a->s);
	/* pinned links keep the programs attached after we exit */
	ks_xdp_set_free(a->xs, detach);
	ks_engine_destroy(&a->e);
	if (detach && a->o.pin_dir) {
		if (a->adopted)	/* XDP attachments outlive their pins */
			ks_xdp_detach_pinned(a->o.pin_dir);
		ks_pins_remove(a->o.pin_dir);
	}
	if (!a->record_only)
		ks_reload_cleanup();
	if (a->lock_fd >= 0)
		close(a->lock_fd);
}

/* Rules from the command line; record without any records every event. */
static int load_rules(struct ks_attach *a, int n, char **paths, struct ks_ruleset **rs,
		      struct ks_tables **t)
{
	struct ks_compile_info info = {};
	int ret = KS_EXIT_OK;

	if (a->record_only && !n) {
		*rs = ks_ruleset_new();
		*t = calloc(1, sizeof(**t));
		if (!*rs || !*t)
			return KS_EXIT_FAIL;
		ks_ruleset_add_query(*rs, "any where true", "<record>");
		if (ks_compile(*rs, *t, &info))
			ret = KS_EXIT_FAIL;
	} else {
		ret = ks_cli_load_rules(n, paths, &a->o.sel, rs, t, &info);
	}
	ks_compile_info_free(&info);
	return ret;
}

static int open_outputs(struct ks_attach *a)
{
	int ret;

	if (a->record_only) {
		a->alerts = ks_output_open("/dev/null");
	} else {
		ret = ks_cli_outputs(a->o.alerts_path, a->o.outputs, a->o.n_outputs, &a->sinks);
		if (ret)
			return ret;
		a->alerts = ks_sinks_output(a->sinks);
	}
	if (!a->alerts) {
		fprintf(stderr, "kload: cannot open /dev/null: %s\n", strerror(errno));
		return KS_EXIT_FAIL;
	}
	if (!a->o.record_path)
		return KS_EXIT_OK;
	if (strcmp(a->o.record_path, "-"))
		unlink(a->o.record_path);	/* a new recording, not an append */
	a->record = ks_output_open(a->o.record_path);
	if (!a->record) {
		fprintf(stderr, "kload: cannot open %s: %s\n", a->o.record_path, strerror(errno));
		return KS_EXIT_FAIL;
	}
	return KS_EXIT_OK;
}

static void announce(struct ks_attach *a)
{
	struct ks_ctl ctl;

	ks_ctl_read(a->e.ctl_fd, &ctl);
	ctl.kload_pid = getpid();
	ks_ctl_write(a->e.ctl_fd, &ctl);
	fprintf(stderr, "kload: %s: mode %s, %u rules, generation %u%s%s\n",
		a->record_only ? "recording" : "attached", ks_mode_name(a->e.mode), ctl.n_rules,
		ctl.generation, ctl.host_hooks ? ", host hooks" : "", a->o.n_xdp ? ", xdp" : "");
	/* systemd (Type=notify): started once everything is attached */
	if (!a->record_only)
		ks_sd_notify("READY=1\nSTATUS=attached: mode %s, %u rules, generation %u",
			     ks_mode_name(a->e.mode), ctl.n_rules, ctl.generation);
}

static void publish_stats(struct ks_attach *a)
{
	ks_session_publish_stats(&a->s, &a->e);
	if (a->sinks)
		ks_sinks_publish(a->sinks, a->e.outputs_fd);
}

/* ---- the hooks go before the last read (--detach-on-exit; record too) ---- */

#define KS_STOP_LINKS	(KS_ENGINE_MAX_LINKS + 64)
#define KS_STOP_WAIT_MS	2000

/* The ids of the links pinned in dir and of those e holds; their count. */
static int link_ids(const char *dir, const struct ks_engine *e, __u32 *ids)
{
	struct bpf_link_info info;
	char path[KS_PIN_PATH_MAX];
	struct dirent *de;
	DIR *d = dir ? opendir(dir) : NULL;
	int n = 0, i, fd;
	__u32 len;

	for (i = 0; i < e->n_links && n < KS_STOP_LINKS; i++) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(bpf_link__fd(e->links[i]), &info, &len))
			ids[n++] = info.id;
	}
	while (d && (de = readdir(d)) && n < KS_STOP_LINKS) {
		if (strncmp(de->d_name, "link_ks_", 8) ||
		    ks_pin_path(path, sizeof(path), dir, de->d_name))
			continue;
		fd = bpf_obj_get(path);
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			ids[n++] = info.id;
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	return n;
}

/* Until no link of ids exists any more (KS_STOP_WAIT_MS at most). */
static void links_gone(const __u32 *ids, int n)
{
	int i, fd, ms;

	for (i = 0, ms = 0; i < n && ms < KS_STOP_WAIT_MS; ) {
		fd = bpf_link_get_fd_by_id(ids[i]);
		if (fd < 0) {
			i++;
			continue;
		}
		close(fd);
		usleep(1000);
		ms++;
	}
}

/*
 * When the hooks are not to outlive kload, they go BEFORE the last read
 * of the ring buffer: what they forward after that read would be counted
 * forwarded by the kernel and never read nor counted lost (an open/close
 * storm through kload's stop, bench/bench_sustain --sets stop: 634 of
 * 44,894 forwarded events). Removing the pins and closing our fds
 * releases the links; a pinned link is released from a work item after
 * its id is gone, so wait for the ids to go, give the release a moment,
 * then wait an RCU grace period (membarrier: a program already running
 * has finished its ring buffer output).
 */
static void detach_before_last_read(struct ks_attach *a)
{
	__u32 ids[KS_STOP_LINKS];
	int i, n;

	if (!a->o.detach_on_exit)	/* (record sets it) */
		return;
	n = link_ids(a->o.pin_dir, &a->e, ids);
	ks_xdp_set_free(a->xs, true);
	a->xs = NULL;
	if (a->o.pin_dir) {
		if (a->adopted)	/* XDP attachments outlive their pins */
			ks_xdp_detach_pinned(a->o.pin_dir);
		ks_pins_remove(a->o.pin_dir);
	}
	for (i = 0; i < a->e.n_links; i++)
		bpf_link__destroy(a->e.links[i]);
	a->e.n_links = 0;
	links_gone(ids, n);
	usleep(10000);
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(50000);	/* no membarrier: grace periods take milliseconds */
}

/* Consume until SIGINT/SIGTERM; once a second expire, flush and publish. */
static int run_loop(struct ks_attach *a)
{
	struct timespec now;
	time_t last = 0;
	int err;

	running_start(a);
	while (!ks_stop) {
		if (a->running)
			running_slice(a);
		/*
		 * No wait while the walk has events to give, nor when a
		 * SIGHUP came while the loop was busy (publish_stats): the
		 * poll would not see it and sleep its 100 ms before the
		 * reload (bench/profile/reload-kbin-handover.txt).
		 */
		err = ks_session_poll(&a->s, a->running || ks_reload ? 0 : 100);
		if (err < 0 && err != -EINTR) {
			pr_warn("kload: ring buffer: %s\n", strerror(-err));
			return KS_EXIT_FAIL;
		}
		if (ks_reload) {
			ks_reload = 0;
			do_reload(a);
		}
		if (ks_reopen) {
			ks_reopen = 0;
			ks_sinks_reopen(a->sinks);
		}
		if (time(NULL) != last) {
			last = time(NULL);
			clock_gettime(CLOCK_REALTIME, &now);
			ks_session_tick(&a->s, now.tv_sec * 1000000000ull + now.tv_nsec);
			publish_stats(a);
		}
	}
	detach_before_last_read(a);
	ks_session_consume(&a->s);	/* what is already queued still counts */
	ks_session_flush(&a->s);
	/* the outputs deliver what they hold, or count it lost (shutdown) */
	ks_sinks_stop(a->sinks, KS_DRAIN_MS);
	publish_stats(a);
	return KS_EXIT_OK;
}

/* Lock the pin directory (not for record), then the outputs. */
static int prepare(struct ks_attach *a)
{
	if (a->o.pin_dir) {
		a->lock_fd = ks_cli_lock(a->o.pin_dir, true);
		if (a->lock_fd < 0) {
			fprintf(stderr, "kload: %s is in use by another kload (%s); "
				"stop it or use `kload reload`\n", a->o.pin_dir, strerror(errno));
			return KS_EXIT_FAIL;
		}
	}
	if (!a->record_only)
		ks_reload_cleanup();
	return open_outputs(a);
}

static int start(struct ks_attach *a, struct ks_ruleset *rs, struct ks_tables *t)
{
	struct ks_session_opts so = {
		.clock = KS_CLOCK_BOOT, .alerts = a->alerts, .record = a->record,
		.nfa_entries = a->o.nfa_entries, .nfa_memory = a->o.nfa_memory,
	};
	int err;

	err = ks_session_init(&a->s, &so);
	if (!err)
		err = setup_engine(a, rs, t);
	else
		ks_ruleset_free(rs);
	if (!err)
		err = ks_session_open_rb(&a->s, a->e.events_fd);
	/* alerts for enforcements whose events the ring buffer had no room for */
	if (!err && !a->record_only)
		err = ks_session_open_lost(&a->s, &a->e, a->adopted);
	if (err)
		return err == -EPERM || err == -EOPNOTSUPP ? KS_EXIT_ENV : KS_EXIT_FAIL;
	if (a->o.metrics) {
		a->http = ks_http_start(a->o.metrics, a->o.pin_dir);
		if (!a->http) {
			fprintf(stderr, "kload: cannot serve metrics on %s: %s\n", a->o.metrics,
				strerror(errno));
			return KS_EXIT_USAGE;
		}
	}
	return KS_EXIT_OK;
}

/* The outputs' losses decide a clean stop's exit code for record. */
static int close_outputs(struct ks_attach *a, int ret)
{
	uint64_t lost = a->record ? ks_output_lost_total(a->record) : 0;

	if (a->sinks) {
		ks_sinks_stop(a->sinks, 0);
		if (ks_log_level >= KS_LOG_INFO)
			ks_sinks_summary(a->sinks, stderr);
		ks_sinks_free(a->sinks);	/* a->alerts is the set's */
	} else {
		ks_output_close(a->alerts);
	}
	ks_output_close(a->record);
	if (lost) {
		fprintf(stderr, "kload: %llu event(s) could not be written to %s\n",
			(unsigned long long)lost, a->o.record_path);
		if (a->record_only && ret == KS_EXIT_OK)
			return KS_EXIT_FAIL;
	}
	return ret;
}

/* Is cap in the effective set? (a service may run with a reduced one) */
static bool has_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return true;	/* cannot tell: let the kernel say */
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_xdp(const struct attach_args *o)
{
	int i;

	/* libxdp reads other XDP programs by id, which takes CAP_SYS_ADMIN;
	 * without it Debian 12's libxdp (1.3) crashes instead of failing */
	if (o->n_xdp && (!has_cap(CAP_SYS_ADMIN) || !has_cap(CAP_NET_ADMIN))) {
		fprintf(stderr, "kload: --xdp needs CAP_NET_ADMIN and CAP_SYS_ADMIN besides "
			"CAP_BPF and CAP_PERFMON; for kestrel.service add them to "
			"CapabilityBoundingSet= in a drop-in (systemctl edit kestrel)\n");
		return KS_EXIT_ENV;
	}
	if (o->no_host && !o->n_xdp) {
		fprintf(stderr, "kload: --no-host needs at least one --xdp IFACE\n");
		return KS_EXIT_USAGE;
	}
	for (i = 0; i < o->n_xdp; i++) {
		if (!strcmp(o->xdp[i], "eth0") && !getenv("KS_ALLOW_ETH0")) {
			fprintf(stderr, "kload: refusing --xdp eth0 on this machine's uplink; "
				"set KS_ALLOW_ETH0=1 if you mean it\n");
			return KS_EXIT_USAGE;
		}
	}
	return KS_EXIT_OK;
}

/* attach: the configuration file first, then the command line over it. */
static int parse_args(struct ks_attach *a, int argc, char **argv, const struct ks_cmd *c)
{
	if (a->record_only)
		return ks_opts_parse(c, argc, argv, &a->o);
	return ks_cfgfile_parse(c, c, argc, argv, &a->o, &a->cfg);
}

static int run_attach(struct ks_attach *a, int argc, char **argv, const struct ks_cmd *c)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	int first, ret, n;
	char **paths;

	ks_engine_init(&a->e);
	first = parse_args(a, argc, argv, c);
	if (first < 0)
		return ks_opts_exit(first);
	ret = check_xdp(&a->o);
	if (!ret)
		ret = ks_cli_env(a->o.pin_dir);
	if (!ret)
		open_early(a);
	ks_cfgfile_rules(&a->cfg, argc, argv, first, &n, &paths);
	if (!ret)
		ret = load_rules(a, n, paths, &rs, &t);
	if (!ret)
		ret = prepare(a);
	if (ret) {
		open_wait(a);
		ks_engine_destroy(&a->e);
		if (rs)
			ks_ruleset_free(rs);
		free(t);
		return close_outputs(a, ret);
	}
	/* before anything is attached: a signal from now on means a clean stop */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	ret = start(a, rs, t);	/* rs is the pipeline's or freed */
	free(t);	/* the kernel and the pipeline hold their own copies */
	if (!ret) {
		announce(a);
		/* libbpf's CO-RE work freed megabytes: give them back to the system */
		malloc_trim(0);
		ret = run_loop(a);
	}
	teardown(a);
	return close_outputs(a, ret);
}

static int cmd_attach(int argc, char **argv)
{
	struct ks_attach a = {
		.o = { .pin_dir = KS_PIN_DIR_DEFAULT, .mode = KS_MODE_PROBE },
		.lock_fd = -1,
	};

	int ret = run_attach(&a, argc, argv, &ks_cmd_attach);

	ks_cfgfile_free(&a.cfg);
	return ret;
}

static int cmd_record(int argc, char **argv)
{
	struct ks_attach a = {
		.o = { .mode = KS_MODE_PROBE, .detach_on_exit = true },
		.record_only = true, .lock_fd = -1,
	};

	return run_attach(&a, argc, argv, &ks_cmd_record);
}
