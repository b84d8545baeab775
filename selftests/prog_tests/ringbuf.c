// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ring buffer consumer (loader/ringbuf.c) against the kernel's
 * producer: a syscall program run by BPF_PROG_TEST_RUN writes records of
 * the sizes the test asks for (bpf_ringbuf_output of an array value the
 * test fills per record, so every byte says which record it belongs to),
 * or reserves and discards one. Records of 1 to 6,001 bytes (not 8-byte
 * multiples) go through rings a few windows long, so that they wrap the
 * ring's end hundreds of times, cross the window's end, and outsize it.
 *
 *  windows  every record delivered once, in order, its bytes its own,
 *           discarded ones never, for three ring/window sizes; the
 *           window moved
 *  adopt    a second consumer on the same ring starts at the first's
 *           position (kload adopting pinned maps)
 *  behind   a ring a quarter full at a pass is mapped whole (no more
 *           window moves), and through its window again after 2 calm
 *           seconds; so is one that falls behind during a pass (a
 *           producer faster than the consumer: the pass never ends)
 *  error    a callback's error stops the pass and is returned; its
 *           record is consumed (libbpf's semantics), the next pass
 *           starts after it
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "kestrel/ringbuf.h"
#include "test_progs.h"

#define SRC_SIZE	8192	/* the array value records are copied from */
#define DISCARD_SIZE	3000	/* the reserved-then-discarded record */

/* The program's context: what to write. */
struct rb_req {
	__u32 size;		/* bytes of the source value to output */
	__u32 discard;		/* reserve DISCARD_SIZE bytes and discard them */
};

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
						.off = (o), .imm = (i) })
#define MOV_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define LDX_W(d, s, o)	INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define MAP_FD(d, fd)	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), \
			INSN(0, 0, 0, 0, 0)
#define CALL(f)		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/*
 * r0 = discard ? (reserve, discard: 0, or 1 when full)
 *              : bpf_ringbuf_output(rb, src[0], size & 0x1fff, 0)
 */
static int load_prog(int rb_fd, int src_fd)
{
	struct bpf_insn insns[] = {
		MOV_REG(6, 1),
		LDX_W(7, 6, 0),
		LDX_W(8, 6, 4),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 8, 0, 15, 0),	/* -> discard */
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
		MOV_REG(2, 10),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		MAP_FD(1, src_fd),
		CALL(BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 19, 0),	/* -> full */
		MOV_REG(2, 0),
		MAP_FD(1, rb_fd),
		MOV_REG(3, 7),
		INSN(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, SRC_SIZE - 1),
		MOV_IMM(4, 0),
		CALL(BPF_FUNC_ringbuf_output),
		EXIT(),
		/* discard: */
		MAP_FD(1, rb_fd),
		MOV_IMM(2, DISCARD_SIZE),
		MOV_IMM(3, 0),
		CALL(BPF_FUNC_ringbuf_reserve),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5, 0),	/* -> full */
		MOV_REG(1, 0),
		MOV_IMM(2, 0),
		CALL(BPF_FUNC_ringbuf_discard),
		MOV_IMM(0, 0),
		EXIT(),
		/* full: */
		MOV_IMM(0, 1),
		EXIT(),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_flags = BPF_F_SLEEPABLE);

	return bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "ks_rb_test", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &o);
}

/* Byte j of record seq: wrong bytes name another record or place. */
static unsigned char pattern(unsigned int seq, size_t j)
{
	return (unsigned char)(seq * 0x9d + j * 7 + (j >> 8) + 1);
}

struct rb_env {
	int rb_fd, src_fd, prog_fd;
	unsigned int sent;	/* records submitted (discards not counted) */
	unsigned int got;	/* records delivered */
	unsigned int bad;	/* delivered out of order, with a wrong size or byte */
	unsigned int fail_at;	/* the callback fails for this record (0: never) */
	unsigned int feed;	/* records left for which the callback writes two more */
	size_t sizes[4096];	/* size of record i (i < sent), modulo the array */
};

static int produce(struct rb_env *t, __u32 size, bool discard);

static int on_rec(void *ctx, const void *data, size_t size)
{
	struct rb_env *t = ctx;
	unsigned int seq = t->got++;
	const unsigned char *p = data;
	size_t j;

	if (seq >= t->sent || size != t->sizes[seq % 4096]) {
		t->bad++;
		return 0;
	}
	for (j = 0; j < size; j++)
		if (p[j] != pattern(seq, j)) {
			t->bad++;
			break;
		}
	if (t->feed) {		/* a producer faster than the pass: it never catches up */
		t->feed--;
		produce(t, 3000, false);
		produce(t, 3000, false);
	}
	return t->fail_at && seq == t->fail_at ? -ECANCELED : 0;
}

/* Run the program once: 0 written, 1 the ring is full, < 0 error. */
static int produce(struct rb_env *t, __u32 size, bool discard)
{
	struct rb_req req = { .size = size, .discard = discard };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &req, .ctx_size_in = sizeof(req));
	unsigned char val[SRC_SIZE];
	__u32 zero = 0;
	size_t j;
	int err;

	if (!discard) {
		for (j = 0; j < size; j++)
			val[j] = pattern(t->sent, j);
		if (bpf_map_update_elem(t->src_fd, &zero, val, 0))
			return -errno;
	}
	err = bpf_prog_test_run_opts(t->prog_fd, &o);
	if (err)
		return err;
	if (o.retval)
		return 1;
	if (!discard)
		t->sizes[t->sent++ % 4096] = size;
	return 0;
}

static int env_open(struct rb_env *t, unsigned int ring)
{
	memset(t, 0, sizeof(*t));
	t->prog_fd = -1;
	t->rb_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ks_rb_test", 0, 0, ring, NULL);
	t->src_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ks_rb_src", 4, SRC_SIZE, 1, NULL);
	if (t->rb_fd < 0 || t->src_fd < 0)
		return -errno;
	t->prog_fd = load_prog(t->rb_fd, t->src_fd);
	return t->prog_fd < 0 ? t->prog_fd : 0;
}

static void env_close(struct rb_env *t)
{
	if (t->prog_fd >= 0)
		close(t->prog_fd);
	if (t->src_fd >= 0)
		close(t->src_fd);
	if (t->rb_fd >= 0)
		close(t->rb_fd);
}

/* Record i's size: 1 to 6,001 bytes, spread over 8-byte residues. */
static __u32 size_of(unsigned int i)
{
	return 1 + (i * 2654435761u >> 7) % 6001;
}

/*
 * n records (every fifth a discard), in batches of 1 to 7, each batch
 * consumed (by poll or consume, alternately); a full ring is consumed
 * and the record tried again.
 */
static void run_records(struct rb_env *t, struct ks_rings *rs, unsigned int n)
{
	unsigned int i, k;
	int err;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < 1 + i % 7 && i + k < n; k++) {
			err = produce(t, size_of(i + k), (i + k) % 5 == 4);
			if (err == 1) {
				ks_rings_consume(rs);
				err = produce(t, size_of(i + k), (i + k) % 5 == 4);
			}
			if (!ASSERT_OK(err, "produce"))
				return;
		}
		err = i & 1 ? ks_rings_poll(rs, 0) : ks_rings_consume(rs);
		if (!ASSERT_GE(err, 0, "consume"))
			return;
	}
}

static void windows_one(unsigned int ring, size_t window)
{
	struct ks_ring_opts o = { .window = window, .open_at = SIZE_MAX };
	struct ks_rings *rs = NULL;
	struct ks_rings_stats st;
	struct rb_env t;

	if (!ASSERT_OK(env_open(&t, ring), "ring, source, program"))
		goto out;
	rs = ks_rings_new();
	if (!ASSERT_OK_PTR(rs, "rings") || !ASSERT_OK(ks_rings_add(rs, t.rb_fd, &o, on_rec, &t), "add"))
		goto out;
	run_records(&t, rs, 3000);
	ASSERT_GE(ks_rings_consume(rs), 0, "last consume");
	ASSERT_EQ(t.bad, 0, "records in order, their own size and bytes");
	ASSERT_EQ(t.got, t.sent, "every record once, no discarded one");
	ASSERT_GT(t.sent, 2000, "records written");
	/*
	 * ~3 KB a record, 9 MB through the ring: it wrapped many times, and
	 * the window moved at least once per window and largest record
	 */
	ks_rings_stats(rs, &st);
	ASSERT_GT(st.moves, 3000ull * 3000 / ((window ?: KS_RING_WINDOW) + 8192) / 2,
		  "the window moved");
	ASSERT_EQ(st.opens, 0, "never mapped whole");
out:
	ks_rings_free(rs);
	env_close(&t);
}

static void windows(void)
{
	windows_one(16 << 10, 4096);		/* records larger than the window */
	windows_one(64 << 10, 3 * 4096);	/* a window of odd pages */
	windows_one(1 << 20, 0);		/* the default window in a larger ring */
}

/* A consumer after another: where the first stopped. */
static void adopt(void)
{
	struct ks_rings *rs = NULL;
	struct rb_env t;

	if (!ASSERT_OK(env_open(&t, 32 << 10), "ring, source, program"))
		goto out;
	rs = ks_rings_new();
	if (!ASSERT_OK_PTR(rs, "rings") || !ASSERT_OK(ks_rings_add(rs, t.rb_fd, NULL, on_rec, &t), "add"))
		goto out;
	run_records(&t, rs, 20);
	ks_rings_free(rs);
	/* written while no one reads, past the ring's end */
	ASSERT_OK(produce(&t, 5000, false), "produce");
	ASSERT_OK(produce(&t, 4093, false), "produce");
	rs = ks_rings_new();
	if (!ASSERT_OK_PTR(rs, "rings") ||
	    !ASSERT_OK(ks_rings_add(rs, t.rb_fd, &(struct ks_ring_opts){ .window = 8192 }, on_rec,
				    &t), "add again"))
		goto out;
	ASSERT_EQ(ks_rings_consume(rs), 2, "the two records written meanwhile");
	run_records(&t, rs, 200);
	ASSERT_EQ(t.bad, 0, "records in order, their own size and bytes");
	ASSERT_EQ(t.got, t.sent, "every record once");
out:
	ks_rings_free(rs);
	env_close(&t);
}

/* n records of 3,000 bytes, then one pass: the records it delivered. */
static int burst(struct rb_env *t, struct ks_rings *rs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!ASSERT_OK(produce(t, 3000, false), "produce"))
			return -1;
	return ks_rings_consume(rs);
}

/*
 * A pass that starts with more than a quarter of the ring unread maps it
 * whole; two calm seconds later, the window again; records intact both
 * ways and across the switches.
 */
static void behind(void)
{
	struct ks_ring_opts o = { .window = 8192 };
	struct ks_rings_stats st;
	struct ks_rings *rs = NULL;
	struct rb_env t;
	uint64_t moves;
	int i;

	if (!ASSERT_OK(env_open(&t, 64 << 10), "ring, source, program"))
		goto out;
	rs = ks_rings_new();
	if (!ASSERT_OK_PTR(rs, "rings") || !ASSERT_OK(ks_rings_add(rs, t.rb_fd, &o, on_rec, &t), "add"))
		goto out;
	for (i = 0; i < 20; i++)	/* 3 KB behind: the window moves */
		ASSERT_EQ(burst(&t, rs, 1), 1, "one record");
	ks_rings_stats(rs, &st);
	ASSERT_EQ(st.opens, 0, "not behind");
	ASSERT_EQ(burst(&t, rs, 8), 8, "24 KB behind");
	ks_rings_stats(rs, &st);
	ASSERT_EQ(st.opens, 1, "mapped whole");
	moves = st.moves;
	for (i = 0; i < 40; i++)	/* around the ring, never moved */
		ASSERT_EQ(burst(&t, rs, 1), 1, "one record");
	ks_rings_stats(rs, &st);
	ASSERT_EQ(st.moves, moves, "no move while whole");
	ASSERT_EQ(st.closes, 0, "not calm yet");
	usleep(2100 * 1000);
	ASSERT_EQ(burst(&t, rs, 1), 1, "calm");
	ASSERT_EQ(burst(&t, rs, 5), 5, "records after it");
	ks_rings_stats(rs, &st);
	ASSERT_EQ(st.closes, 1, "back to the window");
	ASSERT_GT(st.moves, moves + 1, "the window moves again");
	/* a pass that falls behind while it runs: mapped whole in it */
	t.feed = 12;
	ASSERT_EQ(burst(&t, rs, 1), 25, "one pass, fed as it reads");
	ks_rings_stats(rs, &st);
	ASSERT_EQ(st.opens, 2, "mapped whole during the pass");
	ASSERT_EQ(t.bad, 0, "records in order, their own size and bytes");
	ASSERT_EQ(t.got, t.sent, "every record once");
out:
	ks_rings_free(rs);
	env_close(&t);
}

static void error(void)
{
	struct ks_rings *rs = NULL;
	struct rb_env t;
	int i;

	if (!ASSERT_OK(env_open(&t, 32 << 10), "ring, source, program"))
		goto out;
	rs = ks_rings_new();
	if (!ASSERT_OK_PTR(rs, "rings") || !ASSERT_OK(ks_rings_add(rs, t.rb_fd, NULL, on_rec, &t), "add"))
		goto out;
	t.fail_at = 2;
	for (i = 0; i < 5; i++)
		ASSERT_OK(produce(&t, 100 + i, false), "produce");
	ASSERT_EQ(ks_rings_consume(rs), -ECANCELED, "the callback's error");
	ASSERT_EQ(t.got, 3, "records up to the failing one");
	ASSERT_EQ(ks_rings_consume(rs), 2, "the pass after it");
	ASSERT_EQ(t.got, 5, "every record once");
	ASSERT_EQ(t.bad, 0, "records in order, their own size and bytes");
out:
	ks_rings_free(rs);
	env_close(&t);
}

void test_ringbuf(void)
{
	if (test__start_subtest("windows"))
		windows();
	if (test__start_subtest("adopt"))
		adopt();
	if (test__start_subtest("behind"))
		behind();
	if (test__start_subtest("error"))
		error();
}
