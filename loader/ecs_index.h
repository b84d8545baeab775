/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The paths of an Event JSONL line the decoder reads (loader/ecs_decode.c)
 * and their index: the node of each path's value in the reader's node
 * array (include/kestrel/json.h), made by loader/ecs_index.c.
 */
#ifndef KS_ECS_INDEX_H
#define KS_ECS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/json.h"
#include "ecs_int.h"

/*
 * Every ECS path the decoder reads, by id: a line is indexed once
 * (ks_dec_index_line or ks_dec_index_tape) and each field is then one array read, instead of a walk
 * through the members per field. The enriched fields (ks_ecs_user_name)
 * follow as P_USER + KS_ECS_U_*. F(id, KS_F_*): a field of the catalogue
 * (rules-compiler/fields.c), its name read from there when the tree is
 * built; X(id, name): a path the catalogue has no id of.
 */
#define DEC_PATHS(X, F)								\
	X(TIMESTAMP, "@timestamp") \
	F(EV_CATEGORY, KS_F_CATEGORY) \
	F(EV_ACTION, KS_F_ACTION) \
	X(EV_TYPE, "event.type") \
	X(DATASET, "data_stream.dataset") \
	F(PROC_PID, KS_F_PROCESS_PID) \
	F(PROC_EXE, KS_F_PROCESS_EXECUTABLE) \
	F(PROC_NAME, KS_F_PROCESS_NAME) \
	F(PROC_ENTITY, KS_F_ENTITY_ID) \
	F(PAR_PID, KS_F_PARENT_PID) \
	F(PAR_EXE, KS_F_PARENT_EXECUTABLE) \
	F(PAR_NAME, KS_F_PARENT_NAME) \
	F(PAR_ENTITY, KS_F_PARENT_ENTITY_ID) \
	F(PROC_ARGS, KS_F_PROCESS_ARGS) \
	F(PROC_CMDLINE, KS_F_PROCESS_COMMAND_LINE) \
	F(PROC_ARGS_COUNT, KS_F_ARGS_COUNT) \
	F(PROC_EXIT_CODE, KS_F_EXIT_CODE) \
	F(CAP_EFF, KS_F_CAP_EFFECTIVE) \
	F(CAP_PRM, KS_F_CAP_PERMITTED) \
	F(PROC_EUID, KS_F_EUID) \
	F(PROC_EGID, KS_F_EGID) \
	F(PAR_EUID, KS_F_PARENT_EUID) \
	F(PAR_EGID, KS_F_PARENT_EGID) \
	F(USER_ID, KS_F_USER_ID) \
	F(GROUP_ID, KS_F_GROUP_ID) \
	F(FILE_PATH, KS_F_FILE_PATH) \
	F(FILE_NAME, KS_F_FILE_NAME) \
	F(FILE_EXT, KS_F_FILE_EXTENSION) \
	F(FILE_ORIG, KS_F_FILE_ORIG_PATH) \
	F(FILE_ORIG_NAME, KS_F_FILE_ORIG_NAME) \
	F(FILE_ORIG_EXT, KS_F_FILE_ORIG_EXT) \
	X(FILE_TARGET, "file.target_path") \
	F(SRC_IP, KS_F_SOURCE_IP) \
	F(DST_IP, KS_F_DEST_IP) \
	F(SRC_PORT, KS_F_SOURCE_PORT) \
	F(DST_PORT, KS_F_DEST_PORT) \
	F(TRANSPORT, KS_F_TRANSPORT) \
	F(DIRECTION, KS_F_DIRECTION) \
	F(PAYLOAD, KS_F_PAYLOAD) \
	F(IFACE_NAME, KS_F_IFACE_NAME) \
	X(IFACE_ID, "observer.ingress.interface.id") \
	F(PID_NS, KS_F_PID_NS) \
	X(ENTRY_TYPE, "process.entry_leader.entry_meta.type") \
	F(SL_PID, KS_F_SESSION_PID) \
	F(SL_ENTITY, KS_F_SESSION_ENTITY_ID) \
	F(EL_PID, KS_F_ENTRY_PID) \
	F(EL_ENTITY, KS_F_ENTRY_ENTITY_ID) \
	F(MNT_NS, KS_F_MNT_NS) \
	F(NET_NS, KS_F_NET_NS) \
	F(USER_NS, KS_F_USER_NS) \
	X(CONTAINER_ID, "container.id") \
	X(TRUNCATED, "kestrel.truncated") \
	X(HOST_OS_TYPE, "host.os.type") \
	X(HOST_NAME, "host.name") \
	X(CUT_EXE, "kestrel.cut_head.process.executable") \
	X(CUT_PEXE, "kestrel.cut_head.process.parent.executable") \
	X(CUT_PATH, "kestrel.cut_head.file.path") \
	X(CUT_ORIG, "kestrel.cut_head.file.Ext.original.path") \
	X(CUT_TARGET, "kestrel.cut_head.file.target_path")

#define DEC_ENUM(id, name) P_##id,
enum dec_path { DEC_PATHS(DEC_ENUM, DEC_ENUM) P_USER, P_N = P_USER + KS_ECS_USER_N };

extern const char *ks_dec_names[P_N];

struct ks_dec_index {
	const struct ks_jn *at[P_N];	/* the value of each path, NULL if absent */
	uint8_t depth[P_N];		/* ... and the object depth it was found at */
};

/*
 * One pass over the line into r's nodes and x, for the lines of the usual
 * shape (an object, strings without escapes, member names without dots,
 * integers, arrays of scalars at the paths: every line Kestrel writes);
 * the nodes at every path are those ks_jr_parse() makes. -1 for any other
 * line (r's nodes and x then hold nothing): ks_jr_parse() and
 * ks_dec_index_tape() decide it.
 */
int ks_dec_index_line(struct ks_dec_index *x, struct ks_jr *r, const char *line, size_t len);
/* false: every line by the reader (tests compare the two ways; default true) */
extern bool ks_dec_one_pass;
/* x of the line ks_jr_parse() left in r (its root an object or not). */
void ks_dec_index_tape(struct ks_dec_index *x, const struct ks_jr *r);

#endif /* KS_ECS_INDEX_H */
