// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload attach / detach / status / stats / reload.
 *
 * attach loads (or adopts) the programs, installs the tables, pins
 * everything under the pin directory, and then consumes the ring buffer:
 * forwarded events -> pipeline (userspace NFA) -> Alert JSONL. It holds an
 * flock on the pin directory for its whole life, so a second attach, a
 * reload's direct swap or a detach cannot race it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/ecs.h"
#include "kestrel/engine.h"
#include "kestrel/http.h"
#include "kestrel/kbin.h"
#include "kestrel/log.h"
#include "kestrel/pipeline.h"
#include "kestrel/stats.h"
#include "kestrel/xdp.h"
#include "cli.h"

#define KS_RUN_DIR	"/run/kestrel"
#define KS_MAX_XDP	KS_CTL_MAX_XDP

static volatile sig_atomic_t ks_stop, ks_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		ks_reload = 1;
	else
		ks_stop = 1;
}

struct ks_attach {
	const char *pin_dir;
	const char *alerts_path;
	const char *metrics;
	const char *record_path;
	const char *xdp[KS_MAX_XDP];
	int n_xdp;
	int mode;
	bool no_host;
	bool detach_on_exit;
	__u32 payload_depth;
	__u32 entities;
	size_t nfa_entries;

	struct ks_engine e;
	bool adopted;
	struct ks_ecs_ctx ecs;
	struct ks_pipeline *p;
	FILE *alerts;
	FILE *record;
	struct ring_buffer *rb;
	struct ks_http *http;
	unsigned long long boot_off;
	int lock_fd;
	struct ks_xdp_set *xs;
};

static uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int ctl_read(int fd, struct ks_ctl *c)
{
	__u32 zero = 0;

	memset(c, 0, sizeof(*c));
	return bpf_map_lookup_elem(fd, &zero, c) ? -errno : 0;
}

static int ctl_write(int fd, const struct ks_ctl *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(fd, &zero, c, 0) ? -errno : 0;
}

/* ks_rules: index -> id, so stats and bpftool can name rules. */
static void publish_rules(int rules_fd, const struct ks_ruleset *rs, const struct ks_tables *t)
{
	__u32 i;

	for (i = 0; i < t->hdr.n_rules && i < rs->n_rules && i < KS_MAX_RULES; i++) {
		struct ks_rule_name nm = {};

		nm.uid = t->rules[i].uid;
		nm.action = t->rules[i].action;
		nm.severity = t->rules[i].severity;
		nm.exact = !!(t->rules[i].flags & KS_R_EXACT);
		snprintf(nm.id, sizeof(nm.id), "%s", rs->rules[i].id);
		bpf_map_update_elem(rules_fd, &i, &nm, 0);
	}
}

/*
 * Install a generation and tell everyone who reads the pins: rule names,
 * ks_ctl, and the pinned ks_tables. Shared by attach and by a reload
 * that finds no kload running.
 */
static int publish_generation(struct ks_engine *e, const char *pin_dir,
			      const struct ks_ruleset *rs, struct ks_tables *t, bool reload)
{
	struct ks_ctl ctl;
	int err;

	err = ks_engine_install(e, t);
	if (err) {
		pr_warn("kload: cannot install rule tables: %s\n", strerror(-err));
		return err;
	}
	ctl_read(e->ctl_fd, &ctl);
	publish_rules(e->rules_fd, rs, t);
	ctl.generation = e->generation;
	ctl.n_rules = t->hdr.n_rules;
	ctl.tables_bytes = sizeof(*t);
	if (reload) {
		ctl.reloads++;
		ctl.last_reload_ns = now_realtime_ns();
	}
	ctl_write(e->ctl_fd, &ctl);
	if (pin_dir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/ks_tables", pin_dir);
		unlink(path);
		bpf_obj_pin(e->tables_fd, path);
	}
	return 0;
}

/* ... and hand the rules to the pipeline (which owns rs from here on). */
static int install(struct ks_attach *a, struct ks_ruleset *rs, struct ks_tables *t, bool reload)
{
	int err = publish_generation(&a->e, a->pin_dir, rs, t, reload);

	return err ? err : ks_pipeline_set_rules(a->p, rs, t);
}

/* Interface names for XDP events: the kernel only knows the ifindex. */
static void fill_iface(struct ks_event *ev)
{
	char name[IF_NAMESIZE];
	size_t n;

	if (ev->source != KS_SRC_XDP || !ev->ifindex || ev->str[KS_F_IFACE_NAME].len)
		return;
	if (!if_indextoname(ev->ifindex, name))
		return;
	n = strnlen(name, sizeof(ev->iface) - 1);
	memcpy(ev->iface, name, n);
	ev->str[KS_F_IFACE_NAME].off = offsetof(struct ks_event, iface);
	ev->str[KS_F_IFACE_NAME].len = n;
	ev->present |= KS_P_IFACE;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct ks_attach *a = ctx;
	struct ks_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	ev.ts_ns += a->boot_off;	/* CLOCK_BOOTTIME -> epoch for @timestamp */
	fill_iface(&ev);
	if (a->record) {
		json_t *j = ks_ecs_to_json(&a->ecs, &ev);

		if (j) {
			ks_ecs_dump_line(j, a->record);
			json_decref(j);
		}
	}
	ks_pipeline_event(a->p, &ev);
	return 0;
}

/* Every second: expire sequences, publish userspace counters. */
static void housekeeping(struct ks_attach *a)
{
	struct ks_pipeline_stats ps;
	struct ks_ctl ctl;
	size_t i;

	ks_pipeline_tick(a->p, now_realtime_ns());
	ks_pipeline_stats(a->p, &ps);
	if (ctl_read(a->e.ctl_fd, &ctl))
		return;
	ctl.user_pending = ps.pending;
	ctl.user_evictions = ps.evictions;
	ctl.user_expired = ps.expired;
	ctl.user_alerts = ps.alerts;
	ctl.user_events = ps.events;
	ctl_write(a->e.ctl_fd, &ctl);
	for (i = 0; i < ctl.n_rules && i < KS_MAX_RULES; i++) {
		struct ks_rule_name nm;
		__u32 k = i;

		if (bpf_map_lookup_elem(a->e.rules_fd, &k, &nm))
			continue;
		nm.alerts = ks_pipeline_rule_alerts(a->p, i);
		bpf_map_update_elem(a->e.rules_fd, &k, &nm, 0);
	}
	if (a->alerts)
		fflush(a->alerts);
	if (a->record)
		fflush(a->record);
}

static void reload_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, KS_RUN_DIR "/reload-%d.kbin", (int)pid);
}

static void do_reload(struct ks_attach *a)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_tables *t = calloc(1, sizeof(*t));
	char path[256], err[256];

	reload_path(path, sizeof(path), getpid());
	if (!rs || !t || ks_kbin_read(path, rs, t, err, sizeof(err))) {
		pr_warn("kload: reload: cannot read %s: %s\n", path, rs && t ? err : "no memory");
		goto fail;
	}
	unlink(path);
	if (install(a, rs, t, true))
		goto fail;	/* the old generation stays */
	pr_info("kload: reloaded %u rules, generation %u\n", t->hdr.n_rules, a->e.generation);
	free(t);	/* the pipeline keeps its own copy */
	return;
fail:
	if (rs)
		ks_ruleset_free(rs);
	free(t);
}

static int setup_engine(struct ks_attach *a, struct ks_ruleset *rs, struct ks_tables *t)
{
	struct ks_engine_opts o = {
		.mode = a->mode, .xdp = a->n_xdp > 0, .no_host = a->no_host,
		.payload_depth = a->payload_depth, .entities = a->entities,
	};
	struct ks_ctl ctl = {};
	int err, i;

	if (a->pin_dir && !ks_engine_adopt(&a->e, a->pin_dir)) {
		a->adopted = true;
		pr_warn("kload: adopting the programs pinned in %s (mode %s)\n", a->pin_dir,
			ks_mode_name(a->e.mode));
		if (a->n_xdp)
			pr_warn("kload: --xdp ignored: adopted programs keep their interfaces; "
				"run `kload detach` first to change them\n");
		ctl_read(a->e.ctl_fd, &ctl);
		return install(a, rs, t, false);
	}
	err = ks_engine_load(&a->e, &o);
	if (err) {
		pr_warn("kload: cannot load BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (run as root with CAP_BPF and CAP_PERFMON)" : "");
		return err;
	}
	err = install(a, rs, t, false);
	if (err)
		return err;
	if (!a->no_host) {
		err = ks_engine_attach(&a->e);
		if (err)
			return err;
		ctl.host_hooks = 1;
	}
	if (a->n_xdp) {
		a->xs = ks_xdp_set_new(&a->e);
		if (!a->xs)
			return -ENOMEM;
		for (i = 0; i < a->n_xdp; i++) {
			err = ks_xdp_attach(a->xs, a->xdp[i]);
			if (err) {
				pr_warn("kload: cannot attach XDP to %s: %s\n", a->xdp[i],
					strerror(-err));
				return err;
			}
			ctl.xdp_ifindex[ctl.n_xdp++] = if_nametoindex(a->xdp[i]);
		}
	}
	if (a->pin_dir) {
		err = ks_engine_pin(&a->e, a->pin_dir);
		if (!err && a->xs)
			err = ks_xdp_pin(a->xs, a->pin_dir);
		if (err) {
			pr_warn("kload: cannot pin under %s: %s\n", a->pin_dir, strerror(-err));
			return err;
		}
	}
	ctl.enforce_mode = a->e.mode;
	ctl.generation = a->e.generation;
	ctl.n_rules = t->hdr.n_rules;
	ctl.tables_bytes = sizeof(*t);
	ctl.started_ns = now_realtime_ns();
	return ctl_write(a->e.ctl_fd, &ctl);
}

static void teardown(struct ks_attach *a)
{
	struct ks_ctl ctl;

	if (a->e.ctl_fd >= 0 && !ctl_read(a->e.ctl_fd, &ctl)) {
		ctl.kload_pid = 0;
		ctl_write(a->e.ctl_fd, &ctl);
	}
	ring_buffer__free(a->rb);
	ks_http_stop(a->http);
	if (a->detach_on_exit) {
		ks_xdp_set_free(a->xs, true);
		ks_engine_destroy(&a->e);
		if (a->pin_dir)
			ks_pins_remove(a->pin_dir);
	} else {
		/* pinned links keep the programs attached after we exit */
		ks_xdp_set_free(a->xs, false);
		ks_engine_destroy(&a->e);
	}
	ks_pipeline_free(a->p);
	ks_ecs_free(&a->ecs);
	if (a->alerts && a->alerts != stdout)
		fclose(a->alerts);
	if (a->record)
		fclose(a->record);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
}

static int parse_attach(struct ks_attach *a, int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
		{ "xdp", required_argument, NULL, 'x' },
		{ "no-host", no_argument, NULL, 'N' },
		{ "alerts", required_argument, NULL, 'a' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'M' },
		{ "detach-on-exit", no_argument, NULL, 'D' },
		{ "record", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'r' },
		{ "payload-depth", required_argument, NULL, 'P' },
		{ "entities", required_argument, NULL, 'E' },
		{ "nfa-entries", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			if (a->n_xdp >= KS_MAX_XDP) {
				fprintf(stderr, "kload: at most %d --xdp interfaces\n", KS_MAX_XDP);
				return KS_EXIT_USAGE;
			}
			if (!strcmp(optarg, "eth0") && !getenv("KS_ALLOW_ETH0")) {
				fprintf(stderr, "kload: refusing --xdp eth0 on this machine's uplink; "
					"set KS_ALLOW_ETH0=1 if you mean it\n");
				return KS_EXIT_USAGE;
			}
			a->xdp[a->n_xdp++] = optarg;
			break;
		case 'N':
			a->no_host = true;
			break;
		case 'a':
			a->alerts_path = optarg;
			break;
		case 'm':
			a->metrics = optarg;
			break;
		case 'p':
			a->pin_dir = optarg;
			break;
		case 'M':
			a->mode = ks_mode_parse(optarg);
			if (a->mode < KS_MODE_PROBE) {
				fprintf(stderr, "kload: --mode takes auto, lsm, signal or observe\n");
				return KS_EXIT_USAGE;
			}
			break;
		case 'D':
			a->detach_on_exit = true;
			break;
		case 'r':
			a->record_path = optarg;
			break;
		case 'P':
			a->payload_depth = strtoul(optarg, NULL, 0);
			if (a->payload_depth < 1 || a->payload_depth > KS_PAYLOAD_MAX) {
				fprintf(stderr, "kload: --payload-depth must be 1..%u\n",
					KS_PAYLOAD_MAX);
				return KS_EXIT_USAGE;
			}
			break;
		case 'E':
			a->entities = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			a->nfa_entries = strtoul(optarg, NULL, 0);
			if (!a->nfa_entries) {
				fprintf(stderr, "kload: --nfa-entries must be at least 1\n");
				return KS_EXIT_USAGE;
			}
			break;
		case 'v':
			ks_log_level++;
			break;
		case 'h':
			ks_cmd_help(ks_cmd_find(cmd), stdout);
			return -1;
		default:
			ks_cmd_help(ks_cmd_find(cmd), stderr);
			return KS_EXIT_USAGE;
		}
	}
	if (a->no_host && !a->n_xdp) {
		fprintf(stderr, "kload: --no-host needs at least one --xdp IFACE\n");
		return KS_EXIT_USAGE;
	}
	return 0;
}

static int run_attach(int argc, char **argv, const char *cmd, bool record_only)
{
	struct ks_attach a = { .pin_dir = KS_PIN_DIR_DEFAULT, .mode = KS_MODE_PROBE,
			       .lock_fd = -1 };
	struct ks_compile_info info = {};
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	struct ks_pipeline_opts po = {};
	struct sigaction sa = { .sa_handler = on_signal };
	time_t last = 0;
	int ret, err;

	ks_engine_init(&a.e);
	ret = parse_attach(&a, argc, argv, cmd);
	if (ret)
		return ret < 0 ? KS_EXIT_OK : ret;
	if (record_only && !a.record_path) {
		fprintf(stderr, "kload record: --events FILE.jsonl is required\n");
		return KS_EXIT_USAGE;
	}
	ret = ks_cli_env();
	if (ret)
		return ret;
	if (record_only && optind == argc) {
		/* no rules: every event the hooks see is forwarded and recorded */
		rs = ks_ruleset_new();
		t = calloc(1, sizeof(*t));
		if (!rs || !t)
			return KS_EXIT_FAIL;
		ks_ruleset_add_query(rs, "any where true", "<record>");
		if (ks_compile(rs, t, &info))
			return KS_EXIT_FAIL;
	} else {
		ret = ks_cli_load_rules(argc - optind, argv + optind, &rs, &t, &info);
		if (ret)
			return ret;
	}
	ks_compile_info_free(&info);

	a.lock_fd = ks_cli_lock(a.pin_dir, true);
	if (a.lock_fd < 0) {
		fprintf(stderr, "kload: %s is in use by another kload (%s); "
			"stop it or use `kload reload`\n", a.pin_dir, strerror(errno));
		ks_ruleset_free(rs);
		free(t);
		return KS_EXIT_FAIL;
	}
	ks_ecs_init(&a.ecs, NULL);
	a.alerts = stdout;
	if (a.alerts_path && strcmp(a.alerts_path, "-")) {
		a.alerts = fopen(a.alerts_path, "a");
		if (!a.alerts) {
			fprintf(stderr, "kload: cannot open %s: %s\n", a.alerts_path,
				strerror(errno));
			ret = KS_EXIT_FAIL;
			goto out;
		}
	}
	if (a.record_path) {
		a.record = fopen(a.record_path, "w");
		if (!a.record) {
			fprintf(stderr, "kload: cannot open %s: %s\n", a.record_path,
				strerror(errno));
			ret = KS_EXIT_FAIL;
			goto out;
		}
	}
	/* before anything is attached: a signal from now on means a clean stop */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	po.alerts = record_only ? fopen("/dev/null", "w") : a.alerts;
	po.max_entries = a.nfa_entries;
	a.p = ks_pipeline_new(&po, &a.ecs);
	a.boot_off = ks_boot_to_epoch_ns();
	err = a.p ? setup_engine(&a, rs, t) : -ENOMEM;
	rs = NULL;	/* owned by the pipeline from here on */
	free(t);	/* the kernel and the pipeline hold their own copies */
	t = NULL;
	if (err) {
		ret = err == -EPERM || err == -EOPNOTSUPP ? KS_EXIT_ENV : KS_EXIT_FAIL;
		goto out;
	}
	a.rb = ring_buffer__new(a.e.events_fd, on_event, &a, NULL);
	if (!a.rb) {
		ret = KS_EXIT_FAIL;
		goto out;
	}
	if (a.metrics) {
		a.http = ks_http_start(a.metrics, a.pin_dir);
		if (!a.http) {
			fprintf(stderr, "kload: cannot serve metrics on %s: %s\n", a.metrics,
				strerror(errno));
			ret = KS_EXIT_USAGE;
			goto out;
		}
	}
	{
		struct ks_ctl ctl;

		ctl_read(a.e.ctl_fd, &ctl);
		ctl.kload_pid = getpid();
		ctl_write(a.e.ctl_fd, &ctl);
		fprintf(stderr, "kload: attached: mode %s, %u rules, generation %u%s%s\n",
			ks_mode_name(a.e.mode), ctl.n_rules, ctl.generation,
			ctl.host_hooks ? ", host hooks" : "", a.n_xdp ? ", xdp" : "");
	}
	/* libbpf's CO-RE work freed megabytes: give them back to the system */
	malloc_trim(0);
	while (!ks_stop) {
		/*
		 * The kernel submits without wakeups until a batch is queued,
		 * so the poll is only a timer: consume whatever is there.
		 */
		err = ring_buffer__poll(a.rb, 100);
		if (err >= 0)
			err = ring_buffer__consume(a.rb);
		if (err < 0 && err != -EINTR) {
			pr_warn("kload: ring buffer: %s\n", strerror(-err));
			ret = KS_EXIT_FAIL;
			goto out;
		}
		if (ks_reload) {
			ks_reload = 0;
			do_reload(&a);
		}
		if (time(NULL) != last) {
			last = time(NULL);
			housekeeping(&a);
		}
	}
	ring_buffer__consume(a.rb);	/* what is already queued still counts */
	housekeeping(&a);
	ret = KS_EXIT_OK;
out:
	if (po.alerts && po.alerts != a.alerts)
		fclose(po.alerts);
	if (rs)
		ks_ruleset_free(rs);
	free(t);
	teardown(&a);
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	return run_attach(argc, argv, "attach", false);
}

int cmd_record(int argc, char **argv)
{
	return run_attach(argc, argv, "record", true);
}

static const char *pin_dir_opt(int argc, char **argv, const char *cmd, int *ret, bool *json,
			       bool *prom)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = KS_PIN_DIR_DEFAULT;
	int c;

	*ret = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 'j':
			if (!json)
				goto bad;
			*json = true;
			break;
		case 'P':
			if (!prom)
				goto bad;
			*prom = true;
			break;
		case 'v':
			ks_log_level++;
			break;
		case 'h':
			ks_cmd_help(ks_cmd_find(cmd), stdout);
			*ret = -1;
			return NULL;
		default:
			goto bad;
		}
	}
	return dir;
bad:
	ks_cmd_help(ks_cmd_find(cmd), stderr);
	*ret = KS_EXIT_USAGE;
	return NULL;
}

int cmd_detach(int argc, char **argv)
{
	const char *dir;
	int ret, lock, n;

	dir = pin_dir_opt(argc, argv, "detach", &ret, NULL, NULL);
	if (!dir)
		return ret < 0 ? KS_EXIT_OK : ret;
	if (optind != argc) {
		ks_cmd_help(ks_cmd_find("detach"), stderr);
		return KS_EXIT_USAGE;
	}
	ret = ks_cli_env();
	if (ret)
		return ret;
	lock = ks_cli_lock(dir, false);
	if (lock < 0 && errno == ENOENT) {
		printf("kload: nothing attached under %s\n", dir);
		return KS_EXIT_OK;
	}
	if (lock < 0) {
		fprintf(stderr, "kload: %s is held by a running `kload attach`: stop it "
			"(SIGTERM) first; it detaches with --detach-on-exit\n", dir);
		return KS_EXIT_FAIL;
	}
	ks_xdp_detach_pinned(dir);
	n = ks_pins_remove(dir);
	close(lock);
	if (n < 0) {
		fprintf(stderr, "kload: cannot remove %s: %s\n", dir, strerror(-n));
		return KS_EXIT_FAIL;
	}
	printf("kload: detached (%d pins removed from %s)\n", n, dir);
	return KS_EXIT_OK;
}

static bool pid_alive(__u32 pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (!pid || kill(pid, 0))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "kload", 5);
}

/* Sum of key+value sizes times entries of every pinned map. */
static unsigned long long pinned_map_bytes(const char *dir, int *n_links)
{
	static const char *const maps[] = {
		"ks_gen", "ks_tables", "ks_stats", "ks_rule_stats", "ks_entity", "ks_events",
		"ks_ctl", "ks_rules", "ks_scratch",
	};
	unsigned long long total = 0;
	char path[512];
	size_t i;
	int ncpu = libbpf_num_possible_cpus();

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, maps[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			unsigned long long per = (unsigned long long)info.key_size + info.value_size;

			if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
			    info.type == BPF_MAP_TYPE_PERCPU_HASH)
				per = info.key_size + (unsigned long long)info.value_size * ncpu;
			if (info.type == BPF_MAP_TYPE_RINGBUF)
				per = 1;
			total += per * info.max_entries;
		}
		close(fd);
	}
	*n_links = 0;
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			*n_links += !strncmp(de->d_name, "link_", 5);
		if (d)
			closedir(d);
	}
	return total;
}

int cmd_status(int argc, char **argv)
{
	struct ks_snapshot s;
	unsigned long long bytes;
	bool json = false, alive;
	const char *dir;
	char ifname[IF_NAMESIZE];
	int ret, n_links;
	__u32 i;

	dir = pin_dir_opt(argc, argv, "status", &ret, &json, NULL);
	if (!dir)
		return ret < 0 ? KS_EXIT_OK : ret;
	ret = ks_cli_env();
	if (ret)
		return ret;
	if (ks_snapshot_read(dir, &s)) {
		if (json)
			printf("{\"attached\":false,\"pin_dir\":\"%s\"}\n", dir);
		else
			printf("kestrel: not attached (nothing pinned in %s)\n", dir);
		return KS_EXIT_FAIL;
	}
	bytes = pinned_map_bytes(dir, &n_links);
	alive = pid_alive(s.ctl.kload_pid);
	if (json) {
		json_t *o = json_object(), *x = json_array();

		json_object_set_new(o, "attached", json_boolean(n_links > 0 || s.ctl.n_xdp));
		json_object_set_new(o, "pin_dir", json_string(dir));
		json_object_set_new(o, "mode", json_string(ks_mode_name(s.ctl.enforce_mode)));
		json_object_set_new(o, "host_hooks", json_integer(n_links));
		for (i = 0; i < s.ctl.n_xdp && i < KS_CTL_MAX_XDP; i++)
			json_array_append_new(x, json_string(if_indextoname(s.ctl.xdp_ifindex[i],
									    ifname) ?: "?"));
		json_object_set_new(o, "xdp", x);
		json_object_set_new(o, "rules", json_integer(s.ctl.n_rules));
		json_object_set_new(o, "generation", json_integer(s.ctl.generation));
		json_object_set_new(o, "map_bytes", json_integer(bytes));
		json_object_set_new(o, "kload_pid", json_integer(alive ? s.ctl.kload_pid : 0));
		json_object_set_new(o, "alerts_flowing", json_boolean(alive));
		json_dumpf(o, stdout, JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else {
		printf("kestrel: %s\n", alive ? "attached, kload consuming alerts" :
		       n_links ? "attached, but no kload is consuming alerts" : "not attached");
		printf("  mode:        %s\n", ks_mode_name(s.ctl.enforce_mode));
		printf("  host hooks:  %d link(s) pinned in %s\n", n_links, dir);
		for (i = 0; i < s.ctl.n_xdp && i < KS_CTL_MAX_XDP; i++)
			printf("  xdp:         %s\n",
			       if_indextoname(s.ctl.xdp_ifindex[i], ifname) ?: "(gone)");
		printf("  rules:       %u (table generation %u, %llu reloads)\n", s.ctl.n_rules,
		       s.ctl.generation, (unsigned long long)s.ctl.reloads);
		printf("  map memory:  %.1f MiB\n", bytes / 1048576.0);
		if (alive)
			printf("  kload pid:   %u\n", s.ctl.kload_pid);
	}
	ks_snapshot_free(&s);
	return (n_links > 0 || s.ctl.n_xdp) && alive ? KS_EXIT_OK : KS_EXIT_FAIL;
}

int cmd_stats(int argc, char **argv)
{
	bool json = false, prom = false;
	struct ks_snapshot s;
	const char *dir;
	int ret;

	dir = pin_dir_opt(argc, argv, "stats", &ret, &json, &prom);
	if (!dir)
		return ret < 0 ? KS_EXIT_OK : ret;
	ret = ks_cli_env();
	if (ret)
		return ret;
	if (ks_snapshot_read(dir, &s)) {
		fprintf(stderr, "kload: nothing attached (no maps pinned in %s)\n", dir);
		return KS_EXIT_FAIL;
	}
	if (prom)
		ks_snapshot_prometheus(&s, stdout);
	else if (json)
		ks_snapshot_json(&s, stdout);
	else
		ks_snapshot_table(&s, stdout);
	ks_snapshot_free(&s);
	return KS_EXIT_OK;
}

int cmd_reload(int argc, char **argv)
{
	struct ks_compile_info info = {};
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t = NULL;
	struct ks_engine e;
	struct ks_ctl ctl;
	char path[256], err[256];
	const char *dir;
	int ret, i;

	dir = pin_dir_opt(argc, argv, "reload", &ret, NULL, NULL);
	if (!dir)
		return ret < 0 ? KS_EXIT_OK : ret;
	ret = ks_cli_load_rules(argc - optind, argv + optind, &rs, &t, &info);
	ks_compile_info_free(&info);
	if (ret)
		return ret;
	ret = ks_cli_env();
	if (ret)
		goto out;
	ret = KS_EXIT_FAIL;
	if (ks_engine_adopt(&e, dir)) {
		fprintf(stderr, "kload: nothing attached under %s: use `kload attach`\n", dir);
		goto out;
	}
	ctl_read(e.ctl_fd, &ctl);
	if (pid_alive(ctl.kload_pid)) {
		/* the running attach owns the pipeline: hand it the rules */
		mkdir(KS_RUN_DIR, 0700);
		reload_path(path, sizeof(path), ctl.kload_pid);
		if (ks_kbin_write(path, rs, t, err, sizeof(err))) {
			fprintf(stderr, "kload: %s: %s\n", path, err);
			goto close;
		}
		kill(ctl.kload_pid, SIGHUP);
		for (i = 0; i < 1000; i++) {
			struct ks_ctl now;

			usleep(10000);
			if (!ctl_read(e.ctl_fd, &now) && now.reloads != ctl.reloads) {
				printf("kload: reloaded %u rules (generation %u)\n", now.n_rules,
				       now.generation);
				ret = KS_EXIT_OK;
				goto close;
			}
		}
		fprintf(stderr, "kload: kload pid %u did not take the new rules within 10 s\n",
			ctl.kload_pid);
		goto close;
	}
	/* programs pinned, no kload running: swap the tables ourselves */
	i = ks_cli_lock(dir, false);
	if (i < 0) {
		fprintf(stderr, "kload: %s is busy\n", dir);
		goto close;
	}
	if (!publish_generation(&e, dir, rs, t, true)) {
		printf("kload: reloaded %u rules (generation %u; no kload is consuming alerts)\n",
		       t->hdr.n_rules, e.generation);
		ret = KS_EXIT_OK;
	}
	close(i);
close:
	ks_engine_destroy(&e);
out:
	ks_ruleset_free(rs);
	free(t);
	return ret;
}
