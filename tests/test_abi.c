// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The kernel/userspace ABI in maps/ is shared by BPF objects, kload and
 * .kbin files: pin its sizes and offsets, so a layout change that forgot
 * to bump KS_ABI_VERSION fails here instead of in a running kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "maps/ks_abi.h"
#include "maps/ks_dns.h"
#include "maps/ks_event.h"
#include "maps/ks_state.h"
#include "maps/ks_tables.h"

static void test_version(void **state)
{
	/* bump both together when a layout below changes */
	assert_int_equal(KS_ABI_VERSION, 28);
}

static void test_event_layout(void **state)
{
	assert_int_equal(sizeof(struct ks_event), 3488);
	assert_int_equal(offsetof(struct ks_event, str), 124);
	assert_int_equal(offsetof(struct ks_event, mnt_ns), 188);
	assert_int_equal(offsetof(struct ks_event, cut_head), 192);
	assert_int_equal(offsetof(struct ks_event, pid_ns), 196);
	assert_int_equal(offsetof(struct ks_event, user_ns), 204);
	assert_int_equal(offsetof(struct ks_event, euid), 208);
	assert_int_equal(offsetof(struct ks_event, pegid), 220);
	assert_int_equal(offsetof(struct ks_event, cgroup_id), 224);
	assert_int_equal(offsetof(struct ks_event, cap_effective), 232);
	assert_int_equal(offsetof(struct ks_event, cap_permitted), 240);
	assert_int_equal(offsetof(struct ks_event, sl_entity), 248);
	assert_int_equal(offsetof(struct ks_event, el_start_ns), 272);
	assert_int_equal(offsetof(struct ks_event, el_pid), 284);
	assert_int_equal(offsetof(struct ks_event, verdict), 288);
	assert_int_equal(offsetof(struct ks_event, exe), 368);
	assert_int_equal(offsetof(struct ks_event, payload), 1952);
	assert_int_equal(sizeof(struct ks_verdict), 80);
	assert_int_equal(sizeof(struct ks_replay_ctx), 65532);	/* test-run ctx limit: 65535 */
	assert_int_equal(sizeof(struct ks_replay_rec), 20);
	/* one event always fits a batch, whatever its strings */
	assert_true(sizeof(struct ks_replay_rec) + sizeof(struct ks_event) <= 65535 - 8);
	assert_int_equal(offsetof(struct ks_event, verdict) % 8, 0);
}

static void test_tables_layout(void **state)
{
	assert_int_equal(sizeof(struct ks_tables_hdr), 104);
	assert_int_equal(offsetof(struct ks_tables_hdr, fdr_slot), 96);
	assert_int_equal(offsetof(struct ks_tables_hdr, trig_fields), 56);
	assert_int_equal(offsetof(struct ks_tables_hdr, cls_begin), 52);
	assert_int_equal(sizeof(struct ks_insn), 16);
	assert_int_equal(KS_CMP_NONE, 7);	/* ks_insn.cmp values */
	assert_int_equal(sizeof(struct ks_step), 20);
	assert_int_equal(offsetof(struct ks_step, join_opt), 16);
	assert_int_equal(sizeof(struct ks_rule), 24);
	assert_int_equal(sizeof(struct ks_cidr), 20);
	assert_int_equal(sizeof(struct ks_dfa_hdr), 3032);
	assert_int_equal(offsetof(struct ks_tables, dfa_hdr), 104);
	/* a field's two automata on one line (maps/ks_dfa.h: the need filter) */
	assert_int_equal(sizeof(struct ks_dfa_auto), 32);
	assert_int_equal(offsetof(struct ks_tables, dfa_hdr.autos) % 64, 0);
	assert_int_equal(sizeof(struct ks_tables), 18489008);
	assert_int_equal(offsetof(struct ks_tables, net), 1178728);
	/* the DFA is last of the map value and 8-aligned: the value ends
	 * after the size class, and the kernel reads cells at
	 * (s + col) & (class - 4) */
	assert_int_equal(offsetof(struct ks_tables, dfa) % 8, 0);
	assert_int_equal(KS_TABLES_VALUE_SIZE(0), 1186984);
	/* the prefilter's table (maps/ks_fdr.h): 8-aligned u64 masks, past
	 * dfa[] (never in the map value), in a slot of its own in the kernel */
	assert_int_equal(offsetof(struct ks_tables, fdr),
			 KS_TABLES_VALUE_SIZE(KS_DFA_CELLS * 4));
	assert_int_equal(offsetof(struct ks_tables, fdr) % 8, 0);
	assert_int_equal(sizeof(struct ks_fdr_tab), 524808);
	assert_int_equal(offsetof(struct ks_tables, fdr) + sizeof(struct ks_fdr_tab),
			 sizeof(struct ks_tables));
	assert_int_equal(sizeof(struct ks_fdr_slot), 524816);
	assert_int_equal(offsetof(struct ks_fdr_slot, fdr) % 8, 0);
	/* size classes are powers of two up to the array */
	assert_int_equal(KS_DFA_CELLS & (KS_DFA_CELLS - 1), 0);
	assert_int_equal(KS_DFA_MIN_TAB_BYTES & (KS_DFA_MIN_TAB_BYTES - 1), 0);
	assert_true(KS_DFA_MIN_TAB_BYTES <= KS_DFA_CELLS * 4);
	/* every cell value (a row offset) keeps clear of KS_DFA_ACC */
	assert_true((uint64_t)KS_DFA_CELLS * 4 <= KS_DFA_ACC);
	assert_int_equal(KS_MAX_ATOMS & (KS_MAX_ATOMS - 1), 0);
}

static void test_state_layout(void **state)
{
	assert_int_equal(sizeof(struct ks_entity_key), 16);
	assert_int_equal(sizeof(struct ks_entity_val), 8 * KS_MAX_KSTEPS);
	assert_int_equal(sizeof(struct ks_stats) % 8, 0);	/* summed as __u64[] */
	/* per-CPU values are limited to 32 KiB */
	assert_true(sizeof(struct ks_stats) <= 32768);
	assert_int_equal(sizeof(struct ks_rule_stats), 48);
	assert_int_equal(sizeof(struct ks_cred_ids), 32);
	/* ks_stats and the action bit masks are sized by these */
	assert_int_equal(KS_SRC_N, 8);
	assert_int_equal(KS_ACT_N, 15);
	assert_int_equal(KS_HIST_BUCKETS, 128);	/* a power of two: the kernel masks */

	assert_int_equal(sizeof(struct ks_rule_name), 16 + KS_RULE_ID_MAX);
	assert_int_equal(sizeof(struct ks_config), 40);
	assert_int_equal(offsetof(struct ks_config, dfa_mask), 32);
	assert_int_equal(offsetof(struct ks_config, hash_key), 8);
	assert_int_equal(offsetof(struct ks_verdict, enforced_uid), 12);
	assert_int_equal(offsetof(struct ks_stats, entity_insert_failures) % 8, 0);
	assert_int_equal(sizeof(struct ks_ctl), 264);
	assert_int_equal(offsetof(struct ks_ctl, user_regex_undecided), 256);
	assert_int_equal(offsetof(struct ks_ctl, user_alerts_lost), 152);
	assert_int_equal(sizeof(struct ks_output_stat), KS_OUTPUT_NAME_MAX + 8 * (3 + 4 + 4));
	assert_int_equal(offsetof(struct ks_output_stat, lost), KS_OUTPUT_NAME_MAX + 24);
	/* DNS answers: told from events by size, the copy masked by KS_DNS_MSG_MAX - 1 */
	assert_int_equal(sizeof(struct ks_dns_rec), 16 + KS_DNS_MSG_MAX);
	assert_int_equal(KS_DNS_MSG_MAX & (KS_DNS_MSG_MAX - 1), 0);
	assert_true(sizeof(struct ks_dns_rec) != sizeof(struct ks_event));
	assert_true(KS_NEED_DNS_BIT >= KS_ACT_N && KS_NEED_DNS_BIT < 16);	/* a __u16 mask */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_event_layout),
		cmocka_unit_test(test_tables_layout),
		cmocka_unit_test(test_state_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
