// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pin directory (/sys/fs/bpf/kestrel by default): what kload pins
 * there (maps, the current generation's tables, one link per attached
 * program), so that the programs outlive kload attach and later commands
 * adopt them (ks_engine_adopt()); removing only what is Kestrel's; and
 * refusing a directory others could plant maps in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel.skel.h"
#include "engine_int.h"

const char *const ks_pin_maps[KS_PIN_MAPS_N] = {
	"ks_gen", "ks_tables", "ks_stats", "ks_rule_stats", "ks_entity", "ks_events",
	"ks_ctl", "ks_rules", "ks_scratch", "ks_lost", "ks_outputs", "ks_rodata",
	"ks_credsave", "ks_fdr_gen",
};

int ks_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ks_pin_fd(int fd, const char *dir, const char *name)
{
	char path[KS_PIN_PATH_MAX];

	if (ks_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	unlink(path);
	if (bpf_obj_pin(fd, path))
		return -errno;
	return 0;
}

int ks_pin_links_from(struct ks_engine *e, int from)
{
	int i, err;

	for (i = from; i < e->n_links; i++) {
		err = ks_pin_fd(bpf_link__fd(e->links[i]), e->pin_dir, e->link_name[i]);
		if (err)
			return err;
	}
	return 0;
}

int ks_engine_pin(struct ks_engine *e, const char *dir)
{
	size_t i;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < KS_PIN_MAPS_N; i++) {
		struct bpf_map *m;

		if (!strcmp(ks_pin_maps[i], "ks_tables"))
			continue;	/* the current generation, pinned below */
		if (!strcmp(ks_pin_maps[i], "ks_rodata"))
			m = e->skel->maps.rodata;
		else
			m = bpf_object__find_map_by_name(e->skel->obj, ks_pin_maps[i]);
		if (!m)
			return -ENOENT;
		err = ks_pin_fd(bpf_map__fd(m), dir, ks_pin_maps[i]);
		if (err)
			return err;
	}
	if (e->tables_fd >= 0) {
		err = ks_pin_fd(e->tables_fd, dir, "ks_tables");
		if (err)
			return err;
	}
	if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", dir) >= (int)sizeof(e->pin_dir))
		return -ENAMETOOLONG;
	return ks_pin_links_from(e, 0);
}

/* Is name one of the objects kload pins? */
static bool ks_pin_ours(const char *name)
{
	size_t i;

	for (i = 0; i < KS_PIN_MAPS_N; i++)
		if (!strcmp(name, ks_pin_maps[i]))
			return true;
	if (!strncmp(name, "link_ks_", 8))
		return true;
	if (strncmp(name, "xdp_if", 6) || !name[6])
		return false;
	return strspn(name + 6, "0123456789") == strlen(name + 6);
}

int ks_pins_remove(const char *dir)
{
	char path[KS_PIN_PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!ks_pin_ours(de->d_name) ||
		    ks_pin_path(path, sizeof(path), dir, de->d_name))
			continue;
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	if (rmdir(dir) && errno == ENOTEMPTY)
		pr_warn("kload: %s holds objects that are not Kestrel's: left in place\n", dir);
	return n;
}

int ks_pin_dir_check(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		snprintf(why, len, "%s is not a directory: remove it or give --pin-dir "
			 "another path", dir);
	else if (st.st_uid != 0)
		snprintf(why, len, "%s is owned by uid %u, not root: anyone who owns it can "
			 "plant maps there; remove it or `chown root %s`", dir,
			 (unsigned int)st.st_uid, dir);
	else if ((st.st_mode & 07777) != 0700)
		snprintf(why, len, "%s has mode %04o, not 0700: others could plant maps "
			 "there; `chmod 0700 %s`", dir, (unsigned int)(st.st_mode & 07777), dir);
	else
		return 0;
	return -EPERM;
}
