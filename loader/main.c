// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload: compile rules, load and attach Kestrel's BPF programs, stream
 * alerts, report metrics, replay recordings. One table of commands; each
 * parses its own options and returns an exit code from enum ks_exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/log.h"
#include "cli.h"

const struct ks_cmd ks_cmds[] = {
	{ "compile", cmd_compile, "parse and compile rules",
	  "usage: kload compile [-o FILE.kbin] [--explain] RULES...\n"
	  "       kload compile [--explain] -e 'QUERY'\n"
	  "\n"
	  "Parse and compile rule files (YAML with EQL queries, or Sigma .yml) into\n"
	  "kernel tables. Diagnostics are printed as FILE:LINE:COL: error: MESSAGE.\n"
	  "\n"
	  "  -o, --output FILE   write the compiled tables and rules to FILE.kbin\n"
	  "  -e, --eql QUERY     compile one inline EQL query\n"
	  "      --explain       per rule: what runs in the kernel and what in\n"
	  "                      userspace and why; DFA states, classes, map sizes\n"
	  "  -q, --quiet         print only errors and the summary line\n"
	  "\n"
	  "Exit: 0 compiled, 2 invalid rules or usage.\n" },
	{ "attach", cmd_attach, "load, attach and stream alerts",
	  "usage: kload attach [--xdp IFACE]... [--no-host] [--alerts PATH|-]\n"
	  "                    [--metrics ADDR:PORT] [--pin-dir DIR] [--mode MODE]\n"
	  "                    [--detach-on-exit] [--record FILE.jsonl] RULES...|FILE.kbin\n"
	  "\n"
	  "Load the rule tables and BPF programs, attach them, and write alerts as\n"
	  "JSON lines until SIGINT or SIGTERM.\n"
	  "\n"
	  "  --xdp IFACE          also inspect packets arriving on IFACE (repeatable)\n"
	  "  --no-host            no process/file/network hooks (XDP only)\n"
	  "  --alerts PATH|-      where alerts go (default: - = stdout)\n"
	  "  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
	  "                       (ADDR defaults to 127.0.0.1 when only :PORT is given)\n"
	  "  --pin-dir DIR        where maps and links are pinned\n"
	  "                       (default /sys/fs/bpf/kestrel)\n"
	  "  --mode MODE          auto (default), lsm, signal or observe\n"
	  "  --payload-depth N    payload bytes scanned per packet (default 256)\n"
	  "  --entities N         kernel sequence state entries (default 65536)\n"
	  "  --nfa-entries N      pending sequences kept in userspace (default 100000;\n"
	  "                       the least recently used is evicted and counted)\n"
	  "  --detach-on-exit     remove programs and pins when kload exits; by\n"
	  "                       default they stay attached and pinned so detection\n"
	  "                       and enforcement survive a kload restart, and a new\n"
	  "                       `kload attach` adopts them (use `kload detach`)\n"
	  "  --record FILE.jsonl  also write every forwarded event (as `record`)\n"
	  "\n"
	  "Exit: 0 on a clean stop, 1 runtime failure, 2 invalid rules or usage,\n"
	  "3 environment cannot run it (not root, no BTF, no bpffs).\n" },
	{ "detach", cmd_detach, "remove everything attach created",
	  "usage: kload detach [--pin-dir DIR]\n"
	  "\n"
	  "Remove Kestrel's programs, links, XDP attachments and pins.\n" },
	{ "status", cmd_status, "what is attached, mode, rules, maps",
	  "usage: kload status [--json] [--pin-dir DIR]\n"
	  "\n"
	  "Print what is attached where, the enforcement mode (lsm, signal,\n"
	  "observe), rule count, table generation and map memory.\n"
	  "Exit: 0 when everything attach set up is attached and its kload is\n"
	  "consuming alerts, 1 when nothing (or only part) is attached.\n" },
	{ "stats", cmd_stats, "counters summed over CPUs",
	  "usage: kload stats [--json|--prometheus] [--pin-dir DIR]\n"
	  "\n"
	  "Print Kestrel's counters (per-CPU kernel counters summed, plus the\n"
	  "userspace NFA's) as a table, JSON, or Prometheus text format.\n" },
	{ "reload", cmd_reload, "swap rule tables atomically",
	  "usage: kload reload [--pin-dir DIR] RULES...|FILE.kbin\n"
	  "\n"
	  "Compile RULES and ask the running `kload attach` to swap its tables.\n"
	  "No event is evaluated against a mix of old and new tables. A failed\n"
	  "compile changes nothing (exit 2).\n" },
	{ "replay", cmd_replay, "evaluate recorded events offline",
	  "usage: kload replay [--events FILE.jsonl] [--pcap FILE.pcap] [--lenient]\n"
	  "                    [--mode MODE] RULES...|FILE.kbin\n"
	  "\n"
	  "Feed recorded events through the same BPF programs and tables\n"
	  "(BPF_PROG_TEST_RUN) and the same userspace NFA; alerts go to stdout.\n"
	  "Deterministic: the same input gives byte-identical alerts.\n"
	  "\n"
	  "  --events FILE   Event JSONL (- for stdin)\n"
	  "  --pcap FILE     packets, through the XDP program\n"
	  "  --lenient       malformed lines are reported and skipped (exit 0)\n"
	  "  --mode MODE     enforcement outcome to simulate (default signal)\n" },
	{ "record", cmd_record, "capture normalized events",
	  "usage: kload record --events FILE.jsonl [--xdp IFACE]... [--pin-dir DIR]\n"
	  "                    [RULES...|FILE.kbin]\n"
	  "\n"
	  "Attach and write the events the kernel forwards as Event JSONL, for\n"
	  "replay and rule tests. With RULES, the events that match some rule step\n"
	  "are recorded; with none, every event the hooks see (busy hosts: many).\n" },
	{ "test", cmd_test, "rule unit test: replay and compare",
	  "usage: kload test RULES... --events FILE.jsonl --expect FILE.jsonl\n"
	  "\n"
	  "Replay the events and compare the alerts with the expected ones.\n"
	  "Exit 0 on a match, 1 with a readable diff.\n" },
	{ NULL },
};

const struct ks_cmd *ks_cmd_find(const char *name)
{
	const struct ks_cmd *c;

	for (c = ks_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void ks_cmd_help(const struct ks_cmd *c, FILE *out)
{
	fputs(c->usage, out);
	fputs("\nGlobal: -v (repeatable) more output, --help, --version.\n", out);
}

static void usage(FILE *out)
{
	const struct ks_cmd *c;

	fprintf(out, "usage: kload [-v] [--version] COMMAND [ARGS]\n\n"
		"Kestrel: behaviour detection in the kernel.\n\nCommands:\n");
	for (c = ks_cmds; c->name; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->summary);
	fprintf(out, "\n`kload COMMAND --help` for a command's options; man kload(8).\n"
		"Exit codes: 0 ok, 1 runtime failure, 2 usage or invalid rules,\n"
		"3 environment cannot run it.\n");
}

int main(int argc, char **argv)
{
	const struct ks_cmd *c;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			ks_log_level++;
		} else if (!strncmp(argv[i], "-vv", 3)) {
			ks_log_level += strlen(argv[i]) - 1;
		} else if (!strcmp(argv[i], "--version")) {
			printf("kload %s (Kestrel, ABI %d)\n", KS_VERSION, KS_ABI_VERSION);
			return KS_EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return KS_EXIT_OK;
		} else {
			fprintf(stderr, "kload: unknown option %s\n", argv[i]);
			usage(stderr);
			return KS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return KS_EXIT_USAGE;
	}
	c = ks_cmd_find(argv[i]);
	if (!c) {
		fprintf(stderr, "kload: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return KS_EXIT_USAGE;
	}
	ks_log_setup_libbpf();
	return c->run(argc - i, argv + i);
}
