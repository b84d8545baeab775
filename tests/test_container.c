// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * container.id from cgroup paths (loader/container.c): the cgroup names
 * docker, containerd/CRI, CRI-O, podman and systemd-nspawn really give
 * their containers (as /proc/PID/cgroup shows them on hosts running
 * each), the ones that look alike but are not containers, and the lookup
 * of this test's own cgroup by its id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/container.h"

#define H1 "3f0a8c9b5e2d41f7a6b8c0d1e2f3a4b5c6d7e8f90123456789abcdef01234567"
#define H2 "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

struct sample {
	const char *path;
	const char *id;		/* "" = no container */
};

static const struct sample samples[] = {
	/* docker, systemd cgroup driver (Debian, Fedora defaults) */
	{ "/system.slice/docker-" H1 ".scope", H1 },
	/* docker, cgroupfs driver */
	{ "/docker/" H1, H1 },
	/* a container running systemd: its processes sit below the scope */
	{ "/system.slice/docker-" H1 ".scope/init.scope", H1 },
	/* docker in docker: the innermost */
	{ "/system.slice/docker-" H1 ".scope/docker/" H2, H2 },
	/* Kubernetes with containerd, systemd driver */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
	  "0b6c2c7e_5f2a_4a43_9d3e_8f1f4c2d9a10.slice/cri-containerd-" H1 ".scope", H1 },
	/* Kubernetes, cgroupfs driver */
	{ "/kubepods/besteffort/pod0b6c2c7e-5f2a-4a43-9d3e-8f1f4c2d9a10/" H2, H2 },
	/* CRI-O and its conmon */
	{ "/kubepods.slice/kubepods-pod1.slice/crio-" H1 ".scope", H1 },
	{ "/kubepods.slice/kubepods-pod1.slice/crio-conmon-" H1 ".scope", "" },
	/* podman: the container, its sub-cgroup, conmon; cgroupfs manager */
	{ "/machine.slice/libpod-" H2 ".scope", H2 },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H2
	  ".scope/container", H2 },
	{ "/machine.slice/libpod-conmon-" H2 ".scope", "" },
	{ "/libpod_parent/libpod-" H1, H1 },
	/* systemd-nspawn / machined, systemd's \xNN escapes undone */
	{ "/machine.slice/machine-debian12.scope", "debian12" },
	{ "/machine.slice/machine-my\\x2dbox.scope/payload/system.slice/cron.service",
	  "my-box" },
	/* not containers */
	{ "/", "" },
	{ "/user.slice/user-1000.slice/session-3.scope", "" },
	{ "/system.slice/docker.service", "" },
	{ "/system.slice/containerd.service", "" },
	{ "/machine.slice", "" },
	{ "/docker", "" },
	{ "/system.slice/docker-" "3f0a8c9b5e2d41f7a6b8c0d1e2f3a4b5c6d7e8f90123456789abcdef0123456"
	  ".scope", "" },	/* 63 digits */
	{ "/system.slice/docker-" "3F0A8C9B5E2D41F7A6B8C0D1E2F3A4B5C6D7E8F90123456789ABCDEF01234567"
	  ".scope", "" },	/* docker ids are lowercase */
	{ "/other/" H1, "" },	/* a bare id under no engine's directory */
	{ "/machine.slice/machine-.scope", "" },
};

static void test_patterns(void **state)
{
	char id[KS_CONTAINER_ID_MAX];
	size_t i, n;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		n = ks_container_from_cgroup(samples[i].path, id, sizeof(id));
		if (strcmp(id, samples[i].id) || n != strlen(samples[i].id))
			fail_msg("%s: got \"%s\" (%zu), want \"%s\"", samples[i].path, id, n,
				 samples[i].id);
	}
	/* an id that does not fit is none rather than cut */
	assert_int_equal(ks_container_from_cgroup("/docker/" H1, id, 64), 0);
	assert_string_equal(id, "");
}

/* Our own cgroup, by its id: from /proc/self/cgroup and by walking. */
static void test_own_cgroup(void **state)
{
	char line[4096], want[4096], full[4200], path[4096];
	const char *root = ks_cgroup2_root();
	struct stat st;
	FILE *f;

	if (!root)
		skip();		/* says why below */
	f = fopen("/proc/self/cgroup", "r");
	assert_non_null(f);
	want[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3))
			snprintf(want, sizeof(want), "%.*s", (int)strcspn(line + 3, "\n"),
				 line + 3);
	fclose(f);
	assert_true(want[0] == '/');
	snprintf(full, sizeof(full), "%s%s", root, want);
	assert_int_equal(stat(full, &st), 0);
	assert_int_equal(ks_cgroup_path(st.st_ino, getpid(), path, sizeof(path)), 0);
	assert_string_equal(path, want);
	/* no process to ask: the walk finds the same directory */
	assert_int_equal(ks_cgroup_path(st.st_ino, 0, path, sizeof(path)), 0);
	assert_string_equal(path, want);
	/* a cgroup that does not exist */
	assert_int_not_equal(ks_cgroup_path(~0ull >> 2, 0, path, sizeof(path)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_own_cgroup),
	};

	if (!ks_cgroup2_root())
		fprintf(stderr, "test_container: cgroup v2 is not mounted at /sys/fs/cgroup: "
			"skipping the lookup of our own cgroup\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
