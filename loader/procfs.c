// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID files: one reader and one parser of each for all of kload;
 * see include/kestrel/procfs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/procfs.h"

/* ---- parsers ---- */

/* One number of stat (fields 4 on); -1 unless a field separator ends it. */
static int stat_num(const char **p, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(*p, &end, 10);	/* a negative field (tpgid -1) wraps, as %llu */
	if (end == *p || errno || (*end != ' ' && *end != '\n' && *end))
		return -1;
	*p = end;
	return 0;
}

int ks_proc_parse_stat(const char *buf, struct ks_proc_stat *st)
{
	/* the comm is in parentheses and may hold anything: after the last ')' */
	const char *p = strrchr(buf, ')');
	unsigned long long v;
	unsigned int field;

	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	/* fields 3 (state) .. 22 (starttime), space-separated */
	for (field = 3; field <= 22; field++) {
		if (field == 3) {
			p = strchr(p, ' ');
			if (!p)
				return -1;
		} else if (stat_num(&p, &v)) {
			return -1;
		}
		if (field == 4)
			st->ppid = (uint32_t)v;
		else if (field == 5)
			st->pgrp = (int32_t)v;
		else if (field == 6)
			st->session = (int32_t)v;
		else if (field == 7)
			st->tty_nr = (uint32_t)v;
		else if (field == 22)
			st->start_ticks = v;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* The value of "Name:\t..." in a status file, NULL if absent. */
static const char *status_line(const char *buf, const char *name)
{
	size_t n = strlen(name);
	const char *p = buf;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ':')
			return p + n + 1;
	return NULL;
}

/* Two decimal ids (real, effective) after "Name:". */
static int status_ids(const char *buf, const char *name, uint32_t *real, uint32_t *eff)
{
	const char *p = status_line(buf, name);
	unsigned long a, b;
	char *end;

	if (!p)
		return -1;
	a = strtoul(p, &end, 10);
	if (end == p)
		return -1;
	p = end;
	b = strtoul(p, &end, 10);
	if (end == p)
		return -1;
	*real = (uint32_t)a;
	*eff = (uint32_t)b;
	return 0;
}

static int status_caps(const char *buf, const char *name, uint64_t *set)
{
	const char *p = status_line(buf, name);
	char *end;

	if (!p)
		return -1;
	*set = strtoull(p, &end, 16);
	return end == p ? -1 : 0;
}

int ks_proc_parse_status(const char *buf, struct ks_proc_ids *ids)
{
	if (status_ids(buf, "Uid", &ids->uid, &ids->euid) ||
	    status_ids(buf, "Gid", &ids->gid, &ids->egid))
		return -1;
	/* capabilities are optional: 0, as for an event without them */
	if (status_caps(buf, "CapEff", &ids->cap_eff))
		ids->cap_eff = 0;
	if (status_caps(buf, "CapPrm", &ids->cap_prm))
		ids->cap_prm = 0;
	return 0;
}

/* ---- readers ---- */

/* /proc/PID/NAME as a directory fd and a path relative to it (or absolute). */
static int proc_path(int proc_fd, uint32_t pid, const char *name, char *path, size_t len)
{
	if (proc_fd == KS_PROC_ROOT) {
		snprintf(path, len, "/proc/%u/%s", pid, name);
		return AT_FDCWD;
	}
	snprintf(path, len, "%u/%s", pid, name);
	return proc_fd;
}

static int proc_open(int proc_fd, uint32_t pid, const char *name)
{
	char path[64];
	int dir = proc_path(proc_fd, pid, name, path, sizeof(path));

	return openat(dir, path, O_RDONLY | O_CLOEXEC);
}

/* Up to cap bytes of fd (a proc file gives a page or less a read): bytes, -1 on an error. */
static ssize_t read_upto(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n = 1;

	while (got < cap && n > 0) {
		n = read(fd, buf + got, cap - got);
		got += n > 0 ? (size_t)n : 0;
	}
	return n < 0 ? -1 : (ssize_t)got;
}

ssize_t ks_proc_read(int proc_fd, uint32_t pid, const char *name, char *buf, size_t size)
{
	int fd = proc_open(proc_fd, pid, name);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return -1;
	n = read_upto(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

bool ks_proc_read_strings(int proc_fd, uint32_t pid, const char *name, char *buf, size_t cap,
			  size_t *len)
{
	int fd = proc_open(proc_fd, pid, name);
	ssize_t got;
	char more, *z;

	if (fd < 0)
		return false;
	got = read_upto(fd, buf, cap);
	if (got == (ssize_t)cap && read(fd, &more, 1) == 1) {
		z = memrchr(buf, 0, got);	/* drop the cut string */
		got = z ? z - buf + 1 : 0;
	}
	close(fd);
	if (got <= 0)
		return false;
	*len = (size_t)got - (buf[got - 1] == 0);	/* the last NUL */
	return true;
}

ssize_t ks_proc_readlink(int proc_fd, uint32_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	int dir = proc_path(proc_fd, pid, name, path, sizeof(path));
	ssize_t n = readlinkat(dir, path, buf, size);

	return n < 0 ? -1 : n;
}

int ks_proc_stat(int proc_fd, uint32_t pid, struct ks_proc_stat *st)
{
	char buf[1024];	/* some 300 bytes: a comm is 15 at most */

	if (ks_proc_read(proc_fd, pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	return ks_proc_parse_stat(buf, st);
}

int ks_proc_status(int proc_fd, uint32_t pid, struct ks_proc_ids *ids)
{
	char buf[4096];	/* status is some 1,500 bytes */

	if (ks_proc_read(proc_fd, pid, "status", buf, sizeof(buf)) <= 0)
		return -1;
	return ks_proc_parse_status(buf, ids);
}
