// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kload: compile rules, load and attach Kestrel's BPF programs, stream
 * alerts, report metrics, replay recordings. One table of commands; each
 * declares its options next to its code (loader/opts.h) and returns an
 * exit code from enum ks_exit.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "cli.h"

const struct ks_cmd *const ks_cmds[] = {
	&ks_cmd_compile, &ks_cmd_attach, &ks_cmd_detach, &ks_cmd_status, &ks_cmd_stats,
	&ks_cmd_reload, &ks_cmd_replay, &ks_cmd_record, &ks_cmd_test, NULL,
};

static const struct ks_cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; ks_cmds[i]; i++)
		if (!strcmp(ks_cmds[i]->name, name))
			return ks_cmds[i];
	return NULL;
}

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: kload [-v] [--version] COMMAND [ARGS]\n\n"
		"Kestrel: behaviour detection in the kernel.\n\nCommands:\n");
	for (i = 0; ks_cmds[i]; i++)
		fprintf(out, "  %-8s %s\n", ks_cmds[i]->name, ks_cmds[i]->summary);
	fprintf(out, "\nRULES are rule files or directories of them: .yml/.yaml (EQL rules\n"
		"or Sigma), .toml (Elastic detection rules, language = \"eql\").\n");
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
	c = cmd_find(argv[i]);
	if (!c) {
		fprintf(stderr, "kload: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return KS_EXIT_USAGE;
	}
	/*
	 * A fixed mmap threshold: glibc otherwise raises it to the largest
	 * block freed (the kernel BTF libbpf parses, megabytes), and later
	 * blocks that size stay in a heap or, in a loader thread's arena,
	 * resident after their free (malloc_trim() does not shrink those).
	 */
	mallopt(M_MMAP_THRESHOLD, KS_MMAP_THRESHOLD);
	/* a closed reader is a write error to report and count, not a death */
	signal(SIGPIPE, SIG_IGN);
	ks_log_setup_libbpf();
	return c->run(argc - i, argv + i);
}
