/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * /proc/PID files, read and parsed in one place for all of kload: the
 * already_running events (loader/running.c) and the enriched fields read
 * live (loader/ecs_user.c: working directory, parent command line,
 * interactive, session and group leaders, environment).
 *
 * proc_fd is a descriptor of the proc directory (loader/running.c opens
 * the one it is given; the tests give a fake tree), or KS_PROC_ROOT for
 * /proc itself.
 */
#ifndef KESTREL_PROCFS_H
#define KESTREL_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KS_PROC_ROOT	(-1)	/* proc_fd: /proc */

/* What kload reads of /proc/PID/stat (proc(5) fields 4..7 and 22). */
struct ks_proc_stat {
	uint32_t ppid;
	int32_t pgrp;
	int32_t session;
	uint32_t tty_nr;	/* the terminal's new_encode_dev(); 0: none */
	uint64_t start_ticks;	/* clock ticks since boot */
};

/* What kload reads of /proc/PID/status. */
struct ks_proc_ids {
	uint32_t uid, euid, gid, egid;
	uint64_t cap_eff, cap_prm;
};

/*
 * /proc/PID/stat's text: 0, or -1 if malformed. The name (comm) is in
 * parentheses and may hold any byte but a NUL, ')' and newlines
 * included: the fields are counted from the last ')'.
 */
int ks_proc_parse_stat(const char *buf, struct ks_proc_stat *st);

/* /proc/PID/status: Uid, Gid (real, effective), CapEff, CapPrm; -1 if Uid or Gid is missing. */
int ks_proc_parse_status(const char *buf, struct ks_proc_ids *ids);

/*
 * Up to size - 1 bytes of /proc/PID/NAME into buf, NUL-terminated: the
 * bytes read, or -1 when the file cannot be opened or read (the process
 * has gone, or it is not ours to read).
 */
ssize_t ks_proc_read(int proc_fd, uint32_t pid, const char *name, char *buf, size_t size);

/*
 * Up to cap bytes of /proc/PID/NAME (cmdline, environ: NUL-separated
 * strings) into buf, their length without the last NUL in *len: false
 * when the process has gone, the file is unreadable or empty (a kernel
 * thread). A file longer than cap keeps its whole strings that fit: a
 * variable cut in two could equal a value the process does not hold.
 */
bool ks_proc_read_strings(int proc_fd, uint32_t pid, const char *name, char *buf, size_t cap,
			  size_t *len);

/*
 * The target of the link /proc/PID/NAME (exe, cwd) into buf, not
 * NUL-terminated: its length, or -1 when it cannot be read. A length of
 * size may be a longer target cut (readlink(2)).
 */
ssize_t ks_proc_readlink(int proc_fd, uint32_t pid, const char *name, char *buf, size_t size);

/* /proc/PID/stat read and parsed: 0, or -1 (gone, unreadable, malformed). */
int ks_proc_stat(int proc_fd, uint32_t pid, struct ks_proc_stat *st);

/* /proc/PID/status read and parsed: 0, or -1. */
int ks_proc_status(int proc_fd, uint32_t pid, struct ks_proc_ids *ids);

#endif /* KESTREL_PROCFS_H */
