// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The runner: a second thread that makes the BPF_PROG_TEST_RUN of the
 * Event JSONL batch it is handed, so that the kernel evaluates batch k
 * while the caller decodes and packs batch k + 1 (replay.c). It runs the
 * program and nothing else: the caller consumes the ring buffer after a
 * run ends and before it hands over the next batch, so every step of the
 * single-threaded order but the decoding stays where it was and the
 * output is byte-identical.
 *
 * No data race, by design (and run under TSan, bench/profile/replay6-*):
 * the runner touches w->job (the batch, read-only to it while set),
 * w->err and w->stop, every write of them under w->mu; the caller fills a
 * batch only while it is not w->job, and reads the ring buffer and
 * touches the ECS context, the pipeline and the outputs only after
 * ks_runner_wait() saw w->job cleared under w->mu, which orders the
 * kernel's writes of the run before them. The atomic loads are the
 * spin's early look only; the mutex is what hands memory over.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <bpf/bpf.h>

#include "kestrel/clock.h"
#include "replay_int.h"

/*
 * How long a side spins before it sleeps: a batch takes ~70 us to run and
 * ~120 us to decode, so on a machine with a free CPU the runner's wait for
 * the next batch is a few tens of us. A thread that slept is woken through
 * the scheduler (and, in a VM, an idle vCPU's wake-up through the
 * hypervisor), often on its waker's core when the other core is busy, and
 * the two threads then take turns on one core
 * (bench/profile/replay4-threads-rejected.txt: 6,300 context switches,
 * 0.94 CPUs used by the replay of the bench file that slept on every wait).
 * But when the other side is not on a CPU (a loaded machine), spinning
 * only burns the time it waits for: each side halves its own budget after
 * a spin that did not end the wait and doubles it after one that did, from
 * KS_RUNNER_SPIN_MIN to KS_RUNNER_SPIN_MAX (bench/profile/replay6-threads.txt:
 * with a fixed 200 us, 0.28x of one thread's rate with the host's two
 * CPUs busy).
 */
#define KS_RUNNER_SPIN_MAX	200000u
#define KS_RUNNER_SPIN_MIN	2000u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static bool ready(struct ks_replay_runner *w, bool want_job)
{
	return !!__atomic_load_n(&w->job, __ATOMIC_ACQUIRE) == want_job ||
	       __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
}

/*
 * Spin until the job is (want_job) or is not (!want_job) set, or stop, for
 * up to *budget ns, which is then adapted; the caller sleeps if need be.
 */
static void spin(struct ks_replay_runner *w, bool want_job, unsigned int *budget)
{
	unsigned long long t0 = ks_mono_ns();
	unsigned int i;

	for (i = 1; !ready(w, want_job); i++) {
		cpu_relax();
		if (!(i & 63) && ks_mono_ns() - t0 > *budget) {
			*budget = *budget / 2 > KS_RUNNER_SPIN_MIN ? *budget / 2 : KS_RUNNER_SPIN_MIN;
			return;
		}
	}
	if (i > 1)
		*budget = *budget < KS_RUNNER_SPIN_MAX / 2 ? *budget * 2 : KS_RUNNER_SPIN_MAX;
}

int ks_replay_test_run(int prog_fd, struct ks_replay_ctx *batch)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.ctx_in = batch,
		.ctx_size_in = ks_replay_ctx_size(batch),
	);

	return bpf_prog_test_run_opts(prog_fd, &topts) ? -errno : 0;
}

static void *runner_main(void *arg)
{
	struct ks_replay_runner *w = arg;
	unsigned int budget = KS_RUNNER_SPIN_MAX;	/* this thread's own */
	struct ks_replay_ctx *job;
	int err;

	for (;;) {
		spin(w, true, &budget);
		pthread_mutex_lock(&w->mu);
		while (!w->job && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		job = w->job;
		pthread_mutex_unlock(&w->mu);
		if (!job)
			break;
		err = ks_replay_test_run(w->prog_fd, job);
		pthread_mutex_lock(&w->mu);
		w->err = err;
		__atomic_store_n(&w->job, NULL, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

/*
 * threads: 1 = none (the caller makes the runs), 2 = a runner, 0 = a
 * runner when this process may use two CPUs or more: on one, the two
 * threads would only take turns (and the spinning would cost).
 */
bool ks_runner_wanted(int threads)
{
	cpu_set_t set;

	if (threads)
		return threads > 1;
	return !sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 1;
}

int ks_runner_start(struct ks_replay_runner *w, int prog_fd)
{
	int err;

	w->prog_fd = prog_fd;
	w->wait_budget = KS_RUNNER_SPIN_MAX;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	err = pthread_create(&w->tid, NULL, runner_main, w);
	if (err) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
	}
	w->started = !err;
	return -err;
}

/* The job in hand, if any, is run first. */
void ks_runner_stop(struct ks_replay_runner *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->tid, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
}

/* Hand batch over (the runner is idle: ks_runner_wait() came first). */
void ks_runner_give(struct ks_replay_runner *w, struct ks_replay_ctx *batch)
{
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->job, batch, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Wait for the job handed over to end: its run's 0 or -errno. */
int ks_runner_wait(struct ks_replay_runner *w)
{
	int err;

	spin(w, false, &w->wait_budget);
	pthread_mutex_lock(&w->mu);
	while (w->job)
		pthread_cond_wait(&w->cv, &w->mu);
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err;
}
