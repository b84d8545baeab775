// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_mem: memory and latency of a running `kload attach` with 1,000
 * rules and the entity map sized for 64k entities (--entities 65536).
 *
 *   attach     fork of `kload attach ...` to its "kload: attached" line
 *   rss        VmRSS of that kload once attached
 *   maps       every BPF map kload holds (from /proc/PID/fdinfo, one per
 *              map id): (key + value) x max_entries, value x CPUs for
 *              per-CPU maps, the data size for the ring buffer; the
 *              kernel's own memlock accounting alongside
 *   reload     `kload reload` of another 1,000-rule set (rule files, then
 *              .kbin files from `kload compile -o`): from the start of
 *              the command to the table swap (ks_ctl.last_reload_ns, which
 *              the attach process stamps when it switched the generation),
 *              and the command's wall time (it polls every millisecond)
 *   install    ks_engine_install() of 1,000-rule tables in this process
 *              (new inner map, 1 update, outer-slot switch), and ks_compile()
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_common.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"

#define PIN_DIR "/sys/fs/bpf/kestrel-bench"

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct mapsum {
	double bytes, memlock;
	int n;
	char biggest[256];
	char each[1024];	/* "name MiB, ..." for every map */
};

static int map_sum(int pid, struct mapsum *m)
{
	char path[320], link[128], line[256];
	unsigned int ids[256];
	int n_ids = 0, ncpu = libbpf_num_possible_cpus(), i;
	struct dirent *de;
	double big = 0;
	DIR *d;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long type = 0, ks = 0, vs = 0, me = 0, ml = 0, id = 0;
		char name[64] = "";
		ssize_t l;
		FILE *f;
		double b;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, de->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (strcmp(link, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "map_type: %lu", &type);
			sscanf(line, "key_size: %lu", &ks);
			sscanf(line, "value_size: %lu", &vs);
			sscanf(line, "max_entries: %lu", &me);
			sscanf(line, "memlock: %lu", &ml);
			sscanf(line, "map_id: %lu", &id);
		}
		fclose(f);
		for (i = 0; i < n_ids; i++)
			if (ids[i] == id)
				break;
		if (i < n_ids || n_ids == 256)
			continue;
		ids[n_ids++] = id;
		{
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			int fd = bpf_map_get_fd_by_id(id);

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
				snprintf(name, sizeof(name), "%s", info.name);
			if (fd >= 0)
				close(fd);
		}
		switch (type) {
		case BPF_MAP_TYPE_PERCPU_HASH:
		case BPF_MAP_TYPE_PERCPU_ARRAY:
		case BPF_MAP_TYPE_LRU_PERCPU_HASH:
			b = (double)me * (ks + (double)vs * ncpu);
			break;
		case BPF_MAP_TYPE_RINGBUF:
			b = me;
			break;
		default:
			b = (double)me * (ks + vs);
			break;
		}
		m->bytes += b;
		m->memlock += ml;
		m->n++;
		if (b > big) {
			big = b;
			snprintf(m->biggest, sizeof(m->biggest), "%s %.1f MiB", name, b / 1048576);
		}
		fprintf(stderr, "bench_mem:   map %-16s type %2lu  %8.2f MiB (memlock %.2f MiB)\n",
			name, type, b / 1048576, ml / 1048576.0);
		if (b >= 1024) {
			size_t l = strlen(m->each);

			snprintf(m->each + l, sizeof(m->each) - l, "%s%s %.2f", l ? ", " : "",
				 name, b / 1048576);
		}
	}
	closedir(d);
	return 0;
}

/* RssAnon and the resident size of BPF map mappings (the ring buffer) of pid. */
static void rss_parts(int pid, double *anon_kb, double *bpfmap_kb)
{
	char path[64], line[512];
	bool bpfmap = false;
	FILE *f;
	long v;

	*anon_kb = *bpfmap_kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			*anon_kb = v;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8];

		/* a mapping's header: "lo-hi perm offset dev inode [name]" */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3)
			bpfmap = strstr(line, "anon_inode:bpf-map") != NULL;
		else if (sscanf(line, "Rss: %ld", &v) == 1 && bpfmap)
			*bpfmap_kb += v;
	}
	if (f)
		fclose(f);
}

/*
 * `kload -v attach` prints, per program, "kload: NAME: N instructions
 * verified in X ms (loaded in Y ms)": one result each.
 */
static void emit_verify(const char *log, const char *cmd)
{
	const char *p = log;
	char name[64];
	unsigned int insns, vms, lms;

	while ((p = strstr(p, "kload: ks_"))) {
		if (sscanf(p, "kload: %63[^:]: %u instructions verified in %u ms (loaded in %u ms)",
			   name, &insns, &vms, &lms) == 4) {
			struct kb_result r = {
				.name = kb_fmt("mem.verify.%s.ms", name),
				.figure = kb_fmt("verifier time of %s (kload -v attach, 1,000 rules)",
						 name),
				.unit = "ms", .value = vms, .has_value = true, .command = cmd,
				.note = "the verifier's own time (BPF_LOG_STATS), programs load "
					"in parallel",
				.xk = { "verified_insns", "load_ms" }, .xv = { insns, lms },
			};

			kb_emit(&r);
		}
		p++;
	}
}

static int ctl_read(struct ks_ctl *ctl)
{
	__u32 zero = 0;
	int fd = bpf_obj_get(PIN_DIR "/ks_ctl"), err;

	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &zero, ctl) ? -errno : 0;
	close(fd);
	return err;
}

/*
 * `kload reload FILE` against the running attach: command start to the
 * table swap (ks_ctl.last_reload_ns, stamped by the attach process) and
 * the command's wall time. NULL, or why it failed.
 */
static int compile_kbin(const char *kload, const char *rules, const char *out)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "%s compile -o %s %s >/dev/null 2>&1", kload, out, rules);
	return system(cmd) ? -1 : 0;
}

/*
 * kload reload, spawned straight (no shell: "command start" is kload's
 * own start, not /bin/sh's), its output to /dev/null. Its wait status.
 */
static int spawn_reload(const char *kload, const char *file)
{
	char *argv[] = { (char *)kload, "reload", "--pin-dir", PIN_DIR, (char *)file, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	if (posix_spawn_file_actions_init(&fa))
		return -1;
	if (!posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) &&
	    !posix_spawn_file_actions_adddup2(&fa, 1, 2) &&
	    !posix_spawn(&pid, kload, &fa, NULL, argv, environ) && waitpid(pid, &st, 0) != pid)
		st = -1;
	posix_spawn_file_actions_destroy(&fa);
	return st;
}

static const char *reload_once(const char *kload, const char *file, double *ms, double *wall)
{
	struct ks_ctl before, after;
	uint64_t t0r, t0;
	int st;

	if (ctl_read(&before))
		return "cannot read the pinned ks_ctl";
	t0r = realtime_ns();
	t0 = kb_now_ns();
	st = spawn_reload(kload, file);
	*wall = (kb_now_ns() - t0) / 1e6;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) || ctl_read(&after) ||
	    after.reloads == before.reloads)
		return kb_fmt("kload reload %s failed (status %d)", file,
			      st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	*ms = (after.last_reload_ns - t0r) / 1e6;
	return NULL;
}

static void emit_v(const char *name, const char *figure, const char *unit, double v,
		   const char *target, const char *cmd, const char *why, const char *note)
{
	struct kb_result r = {
		.name = name, .figure = figure, .unit = unit, .value = v,
		.has_value = !why && isfinite(v), .target = target, .command = cmd,
		.reason = why ? why : "not measured", .note = note, .headline = target != NULL,
	};

	kb_emit(&r);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rules", 1, 0, 'r' }, { "kload", 1, 0, 'k' }, { "dir", 1, 0, 'd' },
		{ "reps", 1, 0, 'R' }, { "help", 0, 0, 'h' }, { 0 },
	};
	unsigned long n_rules = 1000;
	const char *kload = "build/kload", *dir = "/tmp";
	int reps = 3, o, i, j;
	char ra[512], rb[512];
	double att[8], rss[8], rel[16], relw[16], relk[16], relkw[16], inst[16], comp[8];
	double anon_kb = 0, bpfmap_kb = 0;
	char ka[520], kb[520];
	int n_relk = 0;
	char vlog[4096] = "";
	int n_att = 0, n_rel = 0, n_inst = 0, n_comp = 0;
	struct mapsum ms = {};
	bool have_maps = false;
	const char *why = NULL, *why_rel = NULL, *why_inst = NULL;
	char *ya, *yb;
	const char *attach_cmd;

	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'r':
			n_rules = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			kload = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'R':
			reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [--rules N] [--reps N] [--kload PATH] [--dir DIR]\n",
				argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (reps < 1)
		reps = 1;
	if (reps > 8)
		reps = 8;
	ks_log_setup_libbpf();
	ya = kb_gen_host_rules(n_rules, 7);
	yb = kb_gen_host_rules(n_rules, 8);
	snprintf(ra, sizeof(ra), "%s/mem-rules-a-%lu.yml", dir, n_rules);
	snprintf(rb, sizeof(rb), "%s/mem-rules-b-%lu.yml", dir, n_rules);
	if (kb_write_file(ra, ya) || kb_write_file(rb, yb))
		why = "cannot write the rule files";
	else if (access(kload, X_OK))
		why = kb_fmt("%s not built", kload);
	snprintf(ka, sizeof(ka), "%s/mem-rules-a-%lu.kbin", dir, n_rules);
	snprintf(kb, sizeof(kb), "%s/mem-rules-b-%lu.kbin", dir, n_rules);
	if (!why && (compile_kbin(kload, ra, ka) || compile_kbin(kload, rb, kb)))
		why = "kload compile -o FILE.kbin failed";
	attach_cmd = kb_fmt("%s -v attach --pin-dir %s --detach-on-exit --alerts /dev/null "
			    "--entities 65536 %s", kload, PIN_DIR, ra);

	for (i = 0; i < reps && !why; i++) {
		struct kb_kload k;

		kb_kload_stop(&k, kload, PIN_DIR);	/* leftovers of an earlier run */
		if (kb_kload_start(&k, kb_fmt("%s -v", kload), PIN_DIR, ra, "--entities 65536")) {
			why = kb_fmt("%s", k.why);
			kb_kload_stop(&k, kload, PIN_DIR);
			break;
		}
		att[n_att] = k.attach_ms;
		rss[n_att++] = kb_rss_kb(k.pid);
		if (!vlog[0]) {
			snprintf(vlog, sizeof(vlog), "%s", k.log);
			rss_parts(k.pid, &anon_kb, &bpfmap_kb);
		}
		if (!have_maps && !map_sum(k.pid, &ms))
			have_maps = true;
		/* reloads: b, a, b, ... from the rule files, then from .kbin files */
		for (j = 0; j < 4 && !why_rel; j++) {
			bool kbin = j >= 2;
			int *nr = kbin ? &n_relk : &n_rel;
			const char *f = kbin ? ((*nr & 1) ? ka : kb) : ((*nr & 1) ? ra : rb);
			double ms = 0, wall = 0;

			why_rel = reload_once(kload, f, &ms, &wall);
			if (why_rel)
				break;
			(kbin ? relk : rel)[*nr] = ms;
			(kbin ? relkw : relw)[(*nr)++] = wall;
		}
		kb_kload_stop(&k, kload, PIN_DIR);
		fprintf(stderr, "bench_mem: attach %.0f ms, RSS %.0f kB\n", att[n_att - 1],
			rss[n_att - 1]);
	}

	/* in process: compile and install, at the size class attach loads */
	size_t t_used = 0, t_value = 0;
	__u32 t_class = 0;
	{
		struct ks_engine_opts eo = { .replay = true, .mode = KS_MODE_OBSERVE,
					     .judge_self = true };
		struct ks_compile_info info;
		struct ks_engine e;
		struct ks_tables *t = NULL;
		char err[512];
		int r;

		for (i = 0; i < 3; i++) {
			uint64_t t0 = kb_now_ns();

			free(t);
			t = kb_compile(ya, NULL, &info, err, sizeof(err));
			comp[n_comp++] = (kb_now_ns() - t0) / 1e6;
			ks_compile_info_free(&info);
			if (!t) {
				why_inst = kb_fmt("compiler: %s", err);
				n_comp = 0;
				break;
			}
		}
		if (!why_inst) {
			eo.dfa_bytes = t_class = ks_dfa_size_auto(t);
			t_used = KS_TABLES_USED(t);
			t_value = KS_TABLES_VALUE_SIZE(t_class);
		}
		r = why_inst ? -EINVAL : ks_engine_load(&e, &eo);
		if (!why_inst && r)
			why_inst = kb_fmt("cannot load the BPF engine: %s", strerror(-r));
		for (i = 0; i < 9 && !why_inst; i++) {
			uint64_t t0 = kb_now_ns();

			r = ks_engine_install(&e, t);
			inst[n_inst++] = (kb_now_ns() - t0) / 1e6;
			if (r)
				why_inst = kb_fmt("ks_engine_install: %s", strerror(-r));
		}
		if (!r)
			ks_engine_destroy(&e);
		free(t);
	}

	emit_v("mem.attach_ms", "kload attach: start to \"attached\" (1,000 rules)", "ms",
	       n_att ? kb_median(att, n_att) : NAN, "<= 300", attach_cmd, why, NULL);
	emit_verify(vlog, attach_cmd);
	{
		struct kb_result r = {
			.name = "mem.kload_rss_mib",
			.figure = "kload RSS after attach (1,000 rules, --entities 65536)",
			.unit = "MiB", .value = n_att ? kb_median(rss, n_att) / 1024 : NAN,
			.has_value = n_att > 0, .target = "<= 10", .headline = true,
			.command = attach_cmd, .reason = why ? why : "not measured",
			.note = "VmRSS from /proc/PID/status; bpf_map_mappings: the BPF map pages "
				"the kernel maps into kload (kernel memory counted in mem.maps_mib "
				"too): the ring buffers' position pages and data windows, 256 KiB "
				"of ks_events and 64 KiB of ks_lost (loader/ringbuf.c)",
			.xk = { "rss_anon_mib", "bpf_map_mappings_mib", "rss_less_map_mappings_mib" },
			.xv = { anon_kb / 1024, bpfmap_kb / 1024,
				n_att ? (kb_median(rss, n_att) - bpfmap_kb) / 1024 : 0 },
		};

		kb_emit(&r);
	}
	{
		struct kb_result r = {
			.name = "mem.maps_mib",
			.figure = "BPF map memory of kload attach (1,000 rules, 64k entities)",
			.unit = "MiB", .value = ms.bytes / 1048576, .has_value = have_maps,
			.target = "<= 16", .headline = true, .command = attach_cmd,
			.reason = why ? why : "could not read the maps",
			.note = have_maps ? kb_fmt("(key + value) x max_entries over %d maps, "
						   "per-CPU x CPUs, MiB each: %s", ms.n, ms.each) : NULL,
			.xk = { "kernel_memlock_mib" }, .xv = { ms.memlock / 1048576 },
		};

		kb_emit(&r);
	}
	{
		const char *rcmd = kb_fmt("%s reload --pin-dir %s %s (under %s)", kload, PIN_DIR, rb,
					  attach_cmd);
		const char *w = why ? why : why_rel;

		emit_v("mem.reload_ms", "kload reload of 1,000 rules: command start to table swap",
		       "ms", n_rel ? kb_median(rel, n_rel) : NAN, "<= 100", rcmd,
		       n_rel ? NULL : w,
		       "compile in `kload reload`, .kbin hand-over, SIGHUP, install by the attach "
		       "process (ks_ctl.last_reload_ns)");
		emit_v("mem.reload_cli_ms", "kload reload of 1,000 rules: command wall time", "ms",
		       n_rel ? kb_median(relw, n_rel) : NAN, NULL, rcmd, n_rel ? NULL : w,
		       "includes the command's polling (every millisecond) for the answer");
		rcmd = kb_fmt("%s reload --pin-dir %s %s (under %s)", kload, PIN_DIR, kb,
			      attach_cmd);
		emit_v("mem.reload_kbin_ms",
		       "kload reload of a 1,000-rule .kbin: command start to table swap", "ms",
		       n_relk ? kb_median(relk, n_relk) : NAN, "<= 10", rcmd, n_relk ? NULL : w,
		       "from CLOCK_REALTIME just before posix_spawn() of `kload reload` (no shell "
		       "between: until 2026-12-03 the bench ran it through system() and /bin/sh) "
		       "to ks_ctl.last_reload_ns: the time the attach process "
		       "saw the kernel's ks_gen slot hold the new tables (the store seen by a "
		       "lookup; the update's RCU wait goes on on a thread, the old map held "
		       "until it ends). In between: kload's start (its libraries linked in), "
		       "the hand-over (the file's descriptor, SIGHUP), the .kbin read 128 KiB at a "
		       "time into a buffer kept for the process (ks_wide64 hash of each chunk, the "
		       "tables' nonzero extents copied from it into the pages of the map a reload "
		       "before retired, kept mapped, checked), the switch made by a thread on the "
		       "attach process's CPU. The rules follow "
		       "the switch (the metadata parsed, checked against the tables, given "
		       "to the pipeline "
		       "before another event is read, the rule names in one batch update): "
		       "mem.reload_kbin_cli_ms includes them and the answer");
		emit_v("mem.reload_kbin_cli_ms", "kload reload of a 1,000-rule .kbin: command wall time",
		       "ms", n_relk ? kb_median(relkw, n_relk) : NAN, NULL, rcmd, n_relk ? NULL : w,
		       NULL);
	}
	emit_v("mem.install_ms", "ks_engine_install() of 1,000-rule tables (in process)", "ms",
	       n_inst ? kb_median(inst, n_inst) : NAN, NULL,
	       kb_cmd("build/bench/bench_mem", "--rules %lu", n_rules), n_inst ? NULL : why_inst,
	       t_used ? kb_fmt("%zu bytes used by the tables, %zu copied per install (the "
			       "tables map value: DFA size class %u)", t_used, t_value, t_class)
		      : NULL);
	emit_v("mem.compile_ms", "ks_compile() of 1,000 host rules (in process)", "ms",
	       n_comp ? kb_median(comp, n_comp) : NAN, "<= 50",
	       kb_cmd("build/bench/bench_mem", "--rules %lu", n_rules), n_comp ? NULL : why_inst,
	       NULL);
	free(ya);
	free(yb);
	return 0;
}
