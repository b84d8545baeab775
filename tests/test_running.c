// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * already_running events from /proc (loader/running.c; its parsers are
 * tests/test_procfs.c's): whole events read from a fake proc directory
 * (files and exe links as the kernel lays them out), with start times
 * from stat or from the task iterator's record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "kestrel/running.h"
#include "fake_proc.h"

#define STAT_FMT "%u (%s) S %u %u %u 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 %llu 1000 10"

/* A process: stat (ppid, start ticks), status ids, exe link, cmdline. */
static void put_proc(struct fake *f, unsigned int pid, unsigned int ppid,
		     unsigned long long ticks, const char *exe, const char *cmdline,
		     size_t cmd_len, unsigned int uid, unsigned int euid)
{
	char buf[512], path[256];

	snprintf(buf, sizeof(buf), STAT_FMT "\n", pid, "na) me", ppid, pid, pid, ticks);
	put_file(f, pid, "stat", buf, strlen(buf));
	snprintf(buf, sizeof(buf),
		 "Name:\tx\nUmask:\t0022\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n"
		 "CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\n",
		 uid, euid, euid, euid, uid + 1, euid + 1, euid + 1, euid + 1);
	put_file(f, pid, "status", buf, strlen(buf));
	put_file(f, pid, "cmdline", cmdline, cmd_len);
	snprintf(path, sizeof(path), "%s/%u/exe", f->dir, pid);
	if (exe)
		assert_int_equal(symlink(exe, path), 0);
}

static uint64_t tick_ns(void)
{
	return 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

static const char *str(const struct ks_event *ev, enum ks_field f, char *buf)
{
	memcpy(buf, (const char *)ev + ev->str[f].off, ev->str[f].len);
	buf[ev->str[f].len] = 0;
	return buf;
}

/* A process and its parent, start times from stat. */
static void test_event_from_stat(void **state)
{
	struct fake *f = *state;
	struct ks_task_rec rec = { .pid = 300 };
	static const char cmd[] = "/bin/sh\0-e\0/etc/rc.local\0start";
	struct ks_event *ev = calloc(1, sizeof(*ev));
	char b[KS_ARGS_MAX];

	put_proc(f, 299, 1, 500, "/usr/bin/dash", "sh\0", 3, 0, 0);
	put_proc(f, 300, 299, 777, "/usr/bin/sleep (deleted)", cmd, sizeof(cmd), 1000, 0);
	assert_int_equal(ks_proc_event(f->fd, &rec, 55, ev), 0);
	assert_int_equal(ev->action, KS_ACT_ALREADY_RUNNING);
	assert_int_equal(ev->category, KS_CAT_PROCESS);
	assert_int_equal(ev->ts_ns, 55);
	assert_int_equal(ev->pid, 300);
	assert_int_equal(ev->ppid, 299);
	assert_int_equal(ev->start_ns, 777 * tick_ns());
	assert_int_equal(ev->entity, KS_ENTITY_KEY(300, 777 * tick_ns()));
	assert_int_equal(ev->parent_entity, KS_ENTITY_KEY(299, 500 * tick_ns()));
	/* the unlinked file's marker is not part of the path the hooks give */
	assert_string_equal(str(ev, KS_F_PROCESS_EXECUTABLE, b), "/usr/bin/sleep");
	assert_string_equal(str(ev, KS_F_PROCESS_NAME, b), "sleep");
	assert_string_equal(str(ev, KS_F_PARENT_EXECUTABLE, b), "/usr/bin/dash");
	assert_string_equal(str(ev, KS_F_PARENT_NAME, b), "dash");
	/* no final NUL: the last element is whole (the cmdline ends there) */
	assert_int_equal(ev->args_count, 4);
	assert_int_equal(ev->str[KS_F_PROCESS_ARGS].len, sizeof(cmd) - 1);
	assert_memory_equal(ev->args, cmd, sizeof(cmd) - 1);
	assert_int_equal(ev->uid, 1000);
	assert_int_equal(ev->euid, 0);
	assert_int_equal(ev->gid, 1001);
	assert_int_equal(ev->cap_effective, 0x400);
	assert_int_equal(ev->peuid, 0);
	assert_true((ev->present & (KS_P_PROCESS | KS_P_PARENT | KS_P_USER | KS_P_EUID)) ==
		    (KS_P_PROCESS | KS_P_PARENT | KS_P_USER | KS_P_EUID));
	assert_int_equal(ev->truncated, 0);
	free(ev);
}

/*
 * The iterator's exact times are used when stat agrees (the same
 * process); a pid reused since, a kernel thread, a process without an
 * executable give no event.
 */
static void test_event_exact(void **state)
{
	struct fake *f = *state;
	uint64_t ns = 777 * tick_ns() + 12345;
	struct ks_task_rec rec = { .pid = 400, .ppid = 1, .start_ns = ns,
				   .parent_start_ns = 99 };
	struct ks_event *ev = calloc(1, sizeof(*ev));

	put_proc(f, 400, 1, 777, "/usr/bin/sleep", "sleep\0" "9\0", 8, 0, 0);
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), 0);
	assert_int_equal(ev->start_ns, ns);
	assert_int_equal(ev->entity, KS_ENTITY_KEY(400, ns));
	assert_int_equal(ev->parent_entity, KS_ENTITY_KEY(1, 99));
	assert_int_equal(ev->args_count, 2);
	assert_int_equal(ev->str[KS_F_PROCESS_COMMAND_LINE].len, 7);
	rec.start_ns = 778 * tick_ns();	/* stat says another process */
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), -ENOENT);
	rec.start_ns = ns;
	rec.flags = KS_TASK_KTHREAD;
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), -ENOENT);
	put_proc(f, 401, 2, 5, NULL, "", 0, 0, 0);	/* kthread-like: no exe */
	rec = (struct ks_task_rec){ .pid = 401 };
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), -ENOENT);
	rec.pid = 402;	/* gone */
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), -ENOENT);
	free(ev);
}

/* Longer than their slots: cut as the hooks cut them, counted whole. */
static void test_event_cut(void **state)
{
	struct fake *f = *state;
	struct ks_task_rec rec = { .pid = 500 };
	struct ks_event *ev = calloc(1, sizeof(*ev));
	char exe[400], cmd[1200];
	size_t i;

	exe[0] = '/';
	for (i = 1; i < sizeof(exe) - 5; i++)
		exe[i] = 'd';
	strcpy(exe + i, "/bin");
	for (i = 0; i < sizeof(cmd); i++)
		cmd[i] = i % 10 == 9 ? 0 : 'a';
	put_proc(f, 500, 1, 1, exe, cmd, sizeof(cmd), 0, 0);
	assert_int_equal(ks_proc_event(f->fd, &rec, 1, ev), 0);
	assert_true(ev->truncated & (1u << KS_F_PROCESS_EXECUTABLE));
	assert_int_equal(ev->str[KS_F_PROCESS_EXECUTABLE].len, KS_PATH_MAX - 1);
	assert_memory_equal((char *)ev + ev->str[KS_F_PROCESS_EXECUTABLE].off + KS_PATH_MAX - 5,
			    "/bin", 4);
	assert_int_equal(ev->str[KS_F_PROCESS_NAME].len, 3);
	assert_true(ev->truncated & (1u << KS_F_PROCESS_ARGS));
	assert_int_equal(ev->str[KS_F_PROCESS_ARGS].len, KS_ARGS_MAX - 1);
	assert_int_equal(ev->args_count, sizeof(cmd) / 10);
	free(ev);
}

/* Without the iterator: proc's numeric entries, kload's own pid left out. */
static void test_list_dir(void **state)
{
	struct fake *f = *state;
	struct ks_event *ev = calloc(1, sizeof(*ev));
	struct ks_running *r;
	unsigned int self = (unsigned int)getpid();
	char path[128];
	int n = 0;

	put_proc(f, 600, 1, 1, "/usr/bin/a", "a", 1, 0, 0);
	put_proc(f, self, 1, 1, "/usr/bin/kload", "kload", 5, 0, 0);
	put_file(f, 0, "x", "", 0);	/* a number without a process */
	snprintf(path, sizeof(path), "%s/self", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	r = ks_running_open(f->dir, false);
	assert_non_null(r);
	assert_false(ks_running_exact(r));
	assert_int_equal(ks_running_listed(r), 3);	/* 0, 600, self */
	while (ks_running_next(r, ev) > 0) {
		assert_int_equal(ev->pid, 600);
		n++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(ks_running_emitted(r), 1);
	ks_running_close(r);
	free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_from_stat, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_event_exact, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_event_cut, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_list_dir, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
