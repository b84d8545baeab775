/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A fake proc directory for the cmocka tests of loader/procfs.c and
 * loader/running.c: a temporary tree of PID/NAME files and links, opened
 * as the proc_fd those take. Include after <cmocka.h>.
 */
#ifndef KS_FAKE_PROC_H
#define KS_FAKE_PROC_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

struct fake {
	char dir[64];
	int fd;		/* dir, opened */
};

/* DIR/PID/NAME holding len bytes of data. */
static inline void put_file(struct fake *f, unsigned int pid, const char *name,
			    const char *data, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%u", f->dir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/%s", f->dir, pid, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* cmocka setup and teardown: *state is the struct fake. */
static inline int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/ks_proc_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static inline int fake_teardown(void **state)
{
	struct fake *f = *state;
	char cmd[128];

	close(f->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#endif /* KS_FAKE_PROC_H */
