/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * container.id from cgroup v2 paths (loader/container.c): the names
 * docker, containerd/CRI, CRI-O, podman and systemd-nspawn give the
 * cgroups of their containers, and the path of a cgroup the kernel names
 * by its id.
 */
#ifndef KESTREL_CONTAINER_H
#define KESTREL_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#define KS_CONTAINER_ID_MAX	128	/* bytes of container.id, NUL included */

/*
 * The container id a cgroup path names ("/system.slice/docker-<64 hex>
 * .scope" -> the hex), into id (idlen bytes, NUL-terminated): its length,
 * or 0 when the path is no container's (id is then "").
 */
size_t ks_container_from_cgroup(const char *path, char *id, size_t idlen);
/* Where cgroup v2 is mounted (/sys/fs/cgroup, or .../unified), or NULL. */
const char *ks_cgroup2_root(void);
/*
 * The path (relative to the cgroup2 mount, "/" for its root) of the
 * cgroup whose id is cgid, which process pid was in (0: unknown): from
 * /proc/PID/cgroup when it still names that cgroup, else by walking the
 * mount. 0, or -ENOENT when it is gone (or cgroup v2 is not mounted).
 */
int ks_cgroup_path(uint64_t cgid, uint32_t pid, char *path, size_t len);

#endif /* KESTREL_CONTAINER_H */
