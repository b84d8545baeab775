// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * container.id: the kernel puts the task's cgroup v2 id in every event
 * (bpf/ks_task.bpf.h); here that id becomes the cgroup's path and the
 * path a container id, by the names container engines give their cgroups:
 *
 *   docker (systemd driver)     .../docker-<64 hex>.scope
 *   docker (cgroupfs driver)    .../docker/<64 hex>
 *   containerd / CRI            .../cri-containerd-<64 hex>.scope
 *   Kubernetes, cgroupfs driver .../kubepods/.../pod<uid>/<64 hex>
 *   CRI-O                       .../crio-<64 hex>.scope
 *   podman                      .../libpod-<64 hex>.scope, /libpod_parent/libpod-<64 hex>
 *   systemd-nspawn, machined    /machine.slice/machine-<name>.scope (systemd's
 *                               \xNN escapes undone: machine-my\x2dbox -> my-box)
 *
 * The components are read from the leaf up and the first that names a
 * container wins: a process in a cgroup below its container's (systemd
 * in an nspawn container, docker in docker) belongs to the innermost.
 * conmon's own scopes (libpod-conmon-..., crio-conmon-...) are not
 * containers.
 *
 * The kernel cannot see the path cheaply, so a rule on container.id is
 * finished here (never kernel-exact); the path is looked up once per
 * cgroup, when its first event arrives: /proc/PID/cgroup of the event's
 * process, checked against the cgroup id (the inode number of its
 * directory), else a walk of the cgroup2 mount for that inode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "kestrel/container.h"
#include "kestrel/text.h"

#define HEX_ID_LEN	64
#define WALK_DEPTH	32

static bool hex_id(const char *s, size_t len)
{
	size_t i;

	if (len != HEX_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Component c (len bytes) is PREFIX<64 hex>[SUFFIX]: the hex, else NULL. */
static const char *prefixed_hex(const char *c, size_t len, const char *prefix,
				const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (len > s && !memcmp(c + len - s, suffix, s))
		len -= s;
	if (len < p || memcmp(c, prefix, p) || !hex_id(c + p, len - p))
		return NULL;
	return c + p;
}

/* machine-<name>.scope: the name with systemd's \xNN escapes undone. */
static size_t machine_name(const char *c, size_t len, char *id, size_t idlen)
{
	static const char pre[] = "machine-", suf[] = ".scope";
	size_t i, n = 0;
	int hi, lo;

	if (len <= sizeof(pre) - 1 + sizeof(suf) - 1 || memcmp(c, pre, sizeof(pre) - 1) ||
	    memcmp(c + len - (sizeof(suf) - 1), suf, sizeof(suf) - 1))
		return 0;
	for (i = sizeof(pre) - 1; i < len - (sizeof(suf) - 1) && n + 1 < idlen; i++) {
		if (c[i] == '\\' && i + 3 < len && c[i + 1] == 'x' &&
		    (hi = ks_hexval(c[i + 2])) >= 0 && (lo = ks_hexval(c[i + 3])) >= 0) {
			id[n++] = (char)(hi << 4 | lo);
			i += 3;
		} else {
			id[n++] = c[i];
		}
	}
	id[n] = 0;
	return n && memchr(id, 0, n) == NULL ? n : 0;
}

/* The container component c names (parent: the one above it), or 0. */
static size_t component_id(const char *c, size_t len, const char *parent, size_t plen,
			   char *id, size_t idlen)
{
	static const char *const scopes[] = { "docker-", "cri-containerd-", "crio-",
					      "libpod-" };
	const char *hex = NULL;
	size_t i;

	for (i = 0; !hex && i < sizeof(scopes) / sizeof(scopes[0]); i++)
		hex = prefixed_hex(c, len, scopes[i], ".scope");
	/* cgroupfs drivers: docker/<id>, kubepods/.../pod<uid>/<id> */
	if (!hex && hex_id(c, len) && parent &&
	    ((plen == 6 && !memcmp(parent, "docker", 6)) ||
	     (plen > 3 && !memcmp(parent, "pod", 3))))
		hex = c;
	if (hex) {
		if (idlen <= HEX_ID_LEN)
			return 0;
		memcpy(id, hex, HEX_ID_LEN);
		id[HEX_ID_LEN] = 0;
		return HEX_ID_LEN;
	}
	return machine_name(c, len, id, idlen);
}

size_t ks_container_from_cgroup(const char *path, char *id, size_t idlen)
{
	const char *end = path + strlen(path), *c, *p, *pend;
	size_t n;

	/* components from the leaf up */
	while (end > path) {
		while (end > path && end[-1] == '/')
			end--;
		for (c = end; c > path && c[-1] != '/'; c--)
			;
		if (c == end)
			break;
		for (pend = c; pend > path && pend[-1] == '/'; pend--)
			;
		for (p = pend; p > path && p[-1] != '/'; p--)
			;
		n = component_id(c, end - c, p < pend ? p : NULL, pend - p, id, idlen);
		if (n)
			return n;
		end = c;
	}
	if (idlen)
		id[0] = 0;
	return 0;
}

/* ---- cgroup id -> path ---- */

const char *ks_cgroup2_root(void)
{
	static const char *const where[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;
	size_t i;

	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (!statfs(where[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC)
			return where[i];
	return NULL;
}

/* The cgroup /proc/PID/cgroup names, if its directory's inode is cgid. */
static int from_proc(const char *root, uint64_t cgid, uint32_t pid, char *path, size_t len)
{
	char file[64], line[4096 + 8], full[4096 + 64];
	struct stat st;
	int ret = -ENOENT;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "0::", 3))
			continue;	/* a cgroup v1 hierarchy */
		snprintf(full, sizeof(full), "%s%s", root, line + 3);
		if (!stat(full, &st) && st.st_ino == cgid &&
		    (size_t)snprintf(path, len, "%s", line + 3) < len)
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* Depth first under dir (path rel, "" for the root) for the inode cgid. */
static int walk(int fd, char *rel, size_t len, size_t at, uint64_t cgid, int depth)
{
	struct dirent *de;
	DIR *d;
	int sub, ret = -ENOENT;
	size_t n;

	if (depth > WALK_DEPTH) {
		close(fd);
		return -ENOENT;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOENT;
	}
	while (ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		n = strlen(de->d_name);
		if (at + 1 + n >= len)
			continue;
		rel[at] = '/';
		memcpy(rel + at + 1, de->d_name, n + 1);
		if (de->d_ino == cgid) {
			ret = 0;
			break;
		}
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0)
			ret = walk(sub, rel, len, at + 1 + n, cgid, depth + 1);
	}
	closedir(d);
	return ret;
}

int ks_cgroup_path(uint64_t cgid, uint32_t pid, char *path, size_t len)
{
	const char *root = ks_cgroup2_root();
	struct stat st;
	int fd;

	if (!root || len < 2)
		return -ENOENT;
	if (pid && !from_proc(root, cgid, pid, path, len))
		return 0;
	/* the process is gone (or moved): find the directory itself */
	if (!stat(root, &st) && st.st_ino == cgid) {
		snprintf(path, len, "/");
		return 0;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	path[0] = 0;
	return walk(fd, path, len, 0, cgid, 0);
}
