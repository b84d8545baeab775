// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload detach, status and stats: the commands that look at (or remove)
 * what `kload attach` left under the pin directory.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/stats.h"
#include "kestrel/xdp.h"
#include "cli.h"

struct admin_args {
	const char *pin_dir;
	bool json, prom;
};

static const struct ks_opt detach_opts[] = {
	KS_OPT_PIN_DIR(struct admin_args, pin_dir),
	{ NULL },
};

static const struct ks_opt status_opts[] = {
	KS_OPT_FLAG_(struct admin_args, json, "json", "one JSON object"),
	KS_OPT_PIN_DIR(struct admin_args, pin_dir),
	{ NULL },
};

static const struct ks_opt stats_opts[] = {
	KS_OPT_FLAG_(struct admin_args, json, "json", "JSON"),
	KS_OPT_FLAG_(struct admin_args, prom, "prometheus", "the Prometheus text format"),
	KS_OPT_PIN_DIR(struct admin_args, pin_dir),
	{ NULL },
};

/*
 * This file's rows of kload's command table (opts.h, struct ks_cmd): the
 * same shape in every cmd_*.c by design, deliberate twins that duplicates
 * pairs (cmd_attach.c, cmd_admin.c, cmd_compile.c, cmd_reload.c,
 * cmd_replay.c).
 */
static int cmd_detach(int argc, char **argv);
static int cmd_status(int argc, char **argv);
static int cmd_stats(int argc, char **argv);

const struct ks_cmd ks_cmd_detach = {
	.name = "detach", .run = cmd_detach, .summary = "remove everything attach created",
	.about = "Remove Kestrel's programs, links, XDP attachments and pins; other\n"
		 "objects in the pin directory stay.\n",
	.opts = detach_opts,
};

const struct ks_cmd ks_cmd_status = {
	.name = "status", .run = cmd_status, .summary = "what is attached, mode, rules, maps",
	.about = "Print what is attached where, the enforcement mode (lsm, signal,\n"
		 "observe), rule count, table generation and map memory, and for each\n"
		 "event kind the source serving it (lsm, tp_btf, kprobe, tracepoint)\n"
		 "and what block and kill do there (--json: \"events\").\n",
	.opts = status_opts,
	.footer = "Exit: 0 when everything attach set up is attached and its kload is\n"
		  "consuming alerts, 1 when nothing (or only part) is attached.\n",
};

const struct ks_cmd ks_cmd_stats = {
	.name = "stats", .run = cmd_stats, .summary = "counters summed over CPUs",
	.about = "Print Kestrel's counters (per-CPU kernel counters summed, plus the\n"
		 "userspace NFA's) as a table, JSON, or Prometheus text format.\n",
	.opts = stats_opts,
};

/* Options, no positional arguments, and the environment. */
static int parse(const struct ks_cmd *c, int argc, char **argv, struct admin_args *aa)
{
	int first;

	aa->pin_dir = KS_PIN_DIR_DEFAULT;
	first = ks_opts_parse(c, argc, argv, aa);
	if (first < 0)
		return ks_opts_exit(first);
	if (first != argc) {
		fprintf(stderr, "kload %s: takes no arguments (\"%s\")\n", c->name, argv[first]);
		return KS_EXIT_USAGE;
	}
	return ks_cli_env(aa->pin_dir);
}

static int cmd_detach(int argc, char **argv)
{
	struct admin_args aa = {};
	int ret, lock, n;

	ret = parse(&ks_cmd_detach, argc, argv, &aa);
	if (ret)
		return ret;
	lock = ks_cli_lock(aa.pin_dir, false);
	if (lock < 0 && errno == ENOENT) {
		printf("kload: nothing attached under %s\n", aa.pin_dir);
		return KS_EXIT_OK;
	}
	if (lock < 0) {
		fprintf(stderr, "kload: %s is held by a running `kload attach`: stop it "
			"(SIGTERM) first; it detaches with --detach-on-exit\n", aa.pin_dir);
		return KS_EXIT_FAIL;
	}
	ks_xdp_detach_pinned(aa.pin_dir);
	n = ks_pins_remove(aa.pin_dir);
	close(lock);
	if (n < 0) {
		fprintf(stderr, "kload: cannot remove %s: %s\n", aa.pin_dir, strerror(-n));
		return KS_EXIT_FAIL;
	}
	printf("kload: detached (%d pins removed from %s)\n", n, aa.pin_dir);
	return KS_EXIT_OK;
}
/* What the kernel charges for map fd (fdinfo's memlock), 0 if unknown. */
static unsigned long long map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/*
 * The maps in the slots of an array of maps: ks_fdr_gen's prefilter
 * tables (maps/ks_fdr.h) are pinned only through it.
 */
static unsigned long long inner_map_bytes(int outer, __u32 slots)
{
	unsigned long long v = 0;
	__u32 s, id;
	int fd;

	for (s = 0; s < slots; s++) {
		if (bpf_map_lookup_elem(outer, &s, &id) || !id)
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		v += map_memlock(fd);
		close(fd);
	}
	return v;
}

/*
 * Kernel memory of every pinned map (the kernel's memlock accounting:
 * elements with their overhead, per-CPU copies, ring pages), each into
 * each[] (ks_pin_maps order) and summed; ks_fdr_gen's with its slots'.
 */
static unsigned long long pinned_map_bytes(const char *dir, int *n_links,
					   unsigned long long each[KS_PIN_MAPS_N])
{
	unsigned long long total = 0;
	char path[KS_PIN_PATH_MAX];
	size_t i;

	for (i = 0; i < KS_PIN_MAPS_N; i++) {
		int fd;

		each[i] = 0;
		if (ks_pin_path(path, sizeof(path), dir, ks_pin_maps[i]))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		each[i] = map_memlock(fd);
		if (!strcmp(ks_pin_maps[i], "ks_fdr_gen"))
			each[i] += inner_map_bytes(fd, KS_FDR_SLOTS);
		total += each[i];
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

/*
 * The source of each event kind and what block/kill mean there, from the
 * pinned links (ks_hook_info() in engine.c): into o (JSON) or printed.
 */
static const char *const status_actions[KS_ACT_N] = {
	[KS_ACT_EXEC] = "exec", [KS_ACT_EXIT] = "exit", [KS_ACT_FORK] = "fork",
	[KS_ACT_OPEN] = "open", [KS_ACT_CREATION] = "creation",
	[KS_ACT_DELETION] = "deletion", [KS_ACT_RENAME] = "rename",
	[KS_ACT_MODIFICATION] = "modification", [KS_ACT_CONNECT] = "connect",
	[KS_ACT_ACCEPT] = "accept", [KS_ACT_UID_CHANGE] = "uid_change",
	[KS_ACT_GID_CHANGE] = "gid_change", [KS_ACT_SESSION_ID_CHANGE] = "session_id_change",
};

/*
 * Host event actions whose programs kload did not load because no rule
 * can match them (ks_ctl.host_hooks); an old kload's value 1 says nothing.
 */
static void status_unloaded(__u32 hooks, json_t *o)
{
	json_t *arr = json_array();
	char line[256] = "";
	int a;

	for (a = KS_ACT_EXEC; a < KS_ACT_N && hooks & KS_HOOKS_ON && hooks != KS_HOOKS_ON;
	     a++) {
		if (!status_actions[a] || hooks & 1u << a)
			continue;
		json_array_append_new(arr, json_string(status_actions[a]));
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s",
			 line[0] ? ", " : "", status_actions[a]);
	}
	if (o)
		json_object_set_new(o, "not_loaded", arr);
	else
		json_decref(arr);
	if (!o && line[0])
		printf("  not loaded:  %s\n"
		       "               (no rule matches these events; a reload that brings one\n"
		       "               loads their hooks)\n", line);
}

static void status_sources(const char *dir, __u32 mode, __u32 hooks, json_t *o)
{
	struct ks_kind_sources ks[KS_KIND_N];
	json_t *all = json_object();
	int k, j;

	ks_pinned_sources(dir, ks);
	for (k = 0; k < KS_KIND_N; k++) {
		json_t *arr = json_array();
		char name[16];

		snprintf(name, sizeof(name), "%s:", ks[k].kind);
		if (!o && !ks[k].n)
			printf("  %-12s none\n", name);
		for (j = 0; j < ks[k].n; j++) {
			const struct ks_hook_info *h = ks[k].hook[j];
			const char *blk = mode == KS_MODE_OBSERVE ? "never (observe mode)" : h->block;

			json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "source", h->source,
							     "scope", h->scope, "block", blk));
			if (!o)
				printf("  %-12s %s (%s)\n  %-12s   block: %s\n", j ? "" : name,
				       h->source, h->scope, "", blk);
		}
		json_object_set_new(all, ks[k].kind, arr);
	}
	if (o)
		json_object_set_new(o, "events", all);
	else
		json_decref(all);
	status_unloaded(hooks, o);
}

static void status_json(const char *dir, const struct ks_snapshot *s, int n_links,
			const unsigned long long *each, unsigned long long bytes, bool alive)
{
	json_t *maps = json_object();
	size_t m;

	json_t *o = json_object(), *x = json_array();
	char ifname[IF_NAMESIZE];
	__u32 i;

	json_object_set_new(o, "attached", json_boolean(n_links > 0 || s->ctl.n_xdp));
	json_object_set_new(o, "pin_dir", json_string(dir));
	json_object_set_new(o, "mode", json_string(ks_mode_name(s->ctl.enforce_mode)));
	json_object_set_new(o, "host_hooks", json_integer(n_links));
	for (i = 0; i < s->ctl.n_xdp && i < KS_CTL_MAX_XDP; i++)
		json_array_append_new(x, json_string(if_indextoname(s->ctl.xdp_ifindex[i],
								    ifname) ?: "?"));
	json_object_set_new(o, "xdp", x);
	json_object_set_new(o, "rules", json_integer(s->ctl.n_rules));
	json_object_set_new(o, "generation", json_integer(s->ctl.generation));
	json_object_set_new(o, "map_bytes", json_integer(bytes));
	for (m = 0; m < KS_PIN_MAPS_N; m++)
		if (each[m])
			json_object_set_new(maps, ks_pin_maps[m], json_integer(each[m]));
	json_object_set_new(o, "maps", maps);
	json_object_set_new(o, "kload_pid", json_integer(alive ? s->ctl.kload_pid : 0));
	json_object_set_new(o, "alerts_flowing", json_boolean(alive));
	status_sources(dir, s->ctl.enforce_mode, s->ctl.host_hooks, o);
	json_dumpf(o, stdout, JSON_SORT_KEYS);
	putchar('\n');
	json_decref(o);
}

static void status_text(const char *dir, const struct ks_snapshot *s, int n_links,
			const unsigned long long *each, unsigned long long bytes, bool alive)
{
	char ifname[IF_NAMESIZE];
	size_t m, col = 0;
	__u32 i;

	printf("kestrel: %s\n", alive ? "attached, kload consuming alerts" :
	       n_links ? "attached, but no kload is consuming alerts" : "not attached");
	printf("  mode:        %s\n", ks_mode_name(s->ctl.enforce_mode));
	printf("  host hooks:  %d link(s) pinned in %s\n", n_links, dir);
	for (i = 0; i < s->ctl.n_xdp && i < KS_CTL_MAX_XDP; i++)
		printf("  xdp:         %s\n",
		       if_indextoname(s->ctl.xdp_ifindex[i], ifname) ?: "(gone)");
	printf("  rules:       %u (table generation %u, %llu reloads)\n", s->ctl.n_rules,
	       s->ctl.generation, (unsigned long long)s->ctl.reloads);
	printf("  map memory:  %.1f MiB (kernel accounting; MiB per map:", bytes / 1048576.0);
	for (m = 0; m < KS_PIN_MAPS_N; m++) {
		if (!each[m])
			continue;
		if (col++ % 4 == 0)
			printf("\n              ");
		printf(" %s %.2f", ks_pin_maps[m], each[m] / 1048576.0);
	}
	printf(")\n");
	if (alive)
		printf("  kload pid:   %u\n", s->ctl.kload_pid);
	status_sources(dir, s->ctl.enforce_mode, s->ctl.host_hooks, NULL);
}

static int cmd_status(int argc, char **argv)
{
	struct admin_args aa = {};
	struct ks_snapshot s;
	unsigned long long bytes, each[KS_PIN_MAPS_N];
	bool alive;
	int ret, n_links;

	ret = parse(&ks_cmd_status, argc, argv, &aa);
	if (ret)
		return ret;
	if (ks_snapshot_read(aa.pin_dir, &s)) {
		if (aa.json)
			printf("{\"attached\":false,\"pin_dir\":\"%s\"}\n", aa.pin_dir);
		else
			printf("kestrel: not attached (nothing pinned in %s)\n", aa.pin_dir);
		return KS_EXIT_FAIL;
	}
	bytes = pinned_map_bytes(aa.pin_dir, &n_links, each);
	alive = ks_cli_kload_alive(s.ctl.kload_pid);
	if (aa.json)
		status_json(aa.pin_dir, &s, n_links, each, bytes, alive);
	else
		status_text(aa.pin_dir, &s, n_links, each, bytes, alive);
	ks_snapshot_free(&s);
	return (n_links > 0 || s.ctl.n_xdp) && alive ? KS_EXIT_OK : KS_EXIT_FAIL;
}

static int cmd_stats(int argc, char **argv)
{
	struct admin_args aa = {};
	struct ks_snapshot s;
	int ret;

	ret = parse(&ks_cmd_stats, argc, argv, &aa);
	if (ret)
		return ret;
	if (ks_snapshot_read(aa.pin_dir, &s)) {
		fprintf(stderr, "kload: nothing attached (no maps pinned in %s)\n", aa.pin_dir);
		return KS_EXIT_FAIL;
	}
	if (aa.prom)
		ks_snapshot_prometheus(&s, stdout);
	else if (aa.json)
		ks_snapshot_json(&s, stdout);
	else
		ks_snapshot_table(&s, stdout);
	ks_snapshot_free(&s);
	return KS_EXIT_OK;
}
