/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ECS codec: Event JSONL <-> struct ks_event, and Alert JSONL.
 *
 *   struct ks_ecs_ctx ctx;
 *   ks_ecs_init(&ctx, NULL);                 // host.name adopted from input
 *   ks_ecs_read_jsonl(stdin, "-", cb, arg, &ctx, &skipped, stderr);
 *   ...
 *   struct ks_jw w = {};                     // kestrel/json.h
 *   ks_ecs_alert_json(&ctx, &w, &meta, evs, n, names, values, n_join);
 *   fwrite(w.p, 1, w.len, stdout);           // sorted keys, one object
 *   ks_jw_free(&w);
 *   ks_ecs_free(&ctx);
 *
 * Mapping rules (what is stored where, and what is derived) are described
 * at the top of loader/ecs.c; the decoder is loader/ecs_decode.c, the
 * encoders loader/ecs_encode.c (events, their members from the field
 * catalogue) and loader/ecs_alert.c (alerts). In short:
 *
 *  - Text slots (exe, pexe, path, orig, comm, pcomm, iface) hold at most
 *    slot size - 1 bytes and stay NUL-terminated; process.args holds at most
 *    KS_ARGS_MAX - 1 bytes of NUL-separated elements; payload holds up to
 *    KS_PAYLOAD_MAX raw bytes. Longer values are cut, the field's bit is set
 *    in ev->truncated and ctx->stats.truncations[field] is incremented.
 *  - process.name / process.parent.name are sub-ranges of the executable
 *    when they equal its basename, otherwise copies in comm / pcomm
 *    (15 bytes, like the kernel's task comm).
 *  - file.name / file.extension are always sub-ranges of file.path.
 *  - process.command_line is not stored: it is process.args joined by ' '.
 *  - process.entity_id "<pid>-<start_ns>" maps to KS_ENTITY_KEY(); any
 *    other string is hashed (FNV-1a 64) and remembered in ctx so output
 *    prints the original string back.
 */
#ifndef KESTREL_ECS_H
#define KESTREL_ECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps/ks_abi.h"
#include "maps/ks_event.h"
#include "dns.h"
#include "rules.h"

#define KS_ECS_HOST_MAX		256u
/* "2026-01-02T03:04:05.123456789Z" + NUL */
#define KS_ECS_TIME_LEN		31u

struct ks_ecs_stats {
	unsigned long events;			/* decoded successfully */
	unsigned long errors;			/* events rejected */
	unsigned long truncations[KS_F_STR_N];	/* by enum ks_field */
};

struct ks_ecs_ent;
struct ks_jr;
struct ks_jw;

/* private: a table from 64-bit keys to strings */
struct ks_ecs_strtab {
	struct ks_ecs_ent *v;
	size_t n, cap;
};

/* What the cgroup of a live event turned out to be (kestrel_container_lookups_total). */
enum ks_cgroup_result {
	KS_CGROUP_CONTAINER,	/* a container's: container.id */
	KS_CGROUP_HOST,		/* no container's */
	KS_CGROUP_FAILED,	/* gone before kload looked: container.id unknown */
	KS_CGROUP_N,
};

/* Bounds of the container.id table. */
#define KS_ECS_CGROUPS_LIVE	4096u	/* cgroups remembered (then forgotten, looked up again) */
#define KS_ECS_CGROUPS_REPLAY	65536u	/* distinct container.id values of replayed input */

struct ks_ecs_host_run {
	uint64_t seq;		/* first record number of the run */
	uint32_t host;		/* hosts[] index + 1; 0: the event had none */
};

/* Userspace-enriched fields (loader/ecs_user.c) */
enum {
	KS_ECS_U_HOST_ID,
	KS_ECS_U_CWD,
	KS_ECS_U_PARENT_ARGS,
	KS_ECS_U_USER_NAME,
	KS_ECS_U_PARENT_CMDLINE,	/* process.parent.command_line */
	KS_ECS_U_PARENT_ARGC,		/* process.parent.args_count, decimal */
	KS_ECS_U_ENV_VARS,		/* process.env_vars */
	KS_ECS_U_PARENT_CWD,		/* process.parent.working_directory */
	KS_ECS_U_INTERACTIVE,		/* process.interactive, "true"/"false" */
	KS_ECS_U_PARENT_INTERACTIVE,	/* process.parent.interactive */
	KS_ECS_U_SESSION_NAME,		/* process.session_leader.name */
	KS_ECS_U_GROUP_NAME,		/* process.group_leader.name */
	KS_ECS_U_DEST_DOMAIN,		/* destination.domain (loader/dns.c) */
	KS_ECS_U_AGENT_ID,		/* agent.id, as host.id one per kload */
	KS_ECS_USER_N,
};
#define KS_ECS_UBUF	8192	/* a live value read: a path, cmdline, passwd */
#define KS_ECS_ENVBUF	65536	/* process.env_vars: whole variables that fit */

struct ks_ecs_user_val {
	uint64_t seq;		/* record number */
	unsigned int field;	/* KS_ECS_U_* */
	char *s;		/* array elements NUL-separated */
	size_t len;
};

struct ks_ecs_ctx {
	char host[KS_ECS_HOST_MAX];	/* host.name of live output objects */
	bool host_set;			/* given, adopted or looked up */
	struct ks_ecs_stats stats;
	/* private: entity key -> original entity_id string */
	struct ks_ecs_strtab ents;
	/*
	 * private: ks_event.cgroup_id -> container.id ("": none): a live
	 * cgroup's, looked up on its first event; a replayed event's
	 * (KS_CGROUP_REPLAY keys, given by the decoder)
	 */
	struct ks_ecs_strtab cgroups;
	size_t n_cgroups_live, n_cgroups_replay;
	uint64_t cgroup_lookups[KS_CGROUP_N];
	/* private: host.name of replayed events, by record number */
	char **hosts;
	size_t n_hosts;
	struct ks_ecs_host_run *runs;
	size_t n_runs, cap_runs;
	/* private: userspace-enriched values of replayed records, in record
	 * order; ubuf holds the last one read live */
	struct ks_ecs_user_val *uvals;
	size_t n_uvals, cap_uvals;
	char *ubuf;
	/* private: the JSON reader's buffers, reused line after line */
	struct ks_jr *jr;
	/* private: address -> name from the host's DNS answers (made on the first) */
	struct ks_dns_cache *dns;
};

/*
 * host NULL: adopt host.name from the first input event that carries one,
 * falling back to gethostname() when something must be printed before
 * any input. An event read by ks_ecs_read_jsonl() keeps its own
 * host.name through replay, in its alerts too; one without takes ctx's.
 */
int ks_ecs_init(struct ks_ecs_ctx *ctx, const char *host);
void ks_ecs_free(struct ks_ecs_ctx *ctx);
const char *ks_ecs_host(struct ks_ecs_ctx *ctx);
unsigned long ks_ecs_truncations_total(const struct ks_ecs_ctx *ctx);

/*
 * container.id of ev, or NULL: for a live event its cgroup is looked up
 * (loader/container.c) on first sight, so call it while the process may
 * still be running (the session does, as it takes each event in).
 */
const char *ks_ecs_container(struct ks_ecs_ctx *ctx, const struct ks_event *ev);
/*
 * A userspace-only field's value for ev (the interpreter's user_str):
 * a replayed record's own, or read now for a live event; false for null.
 * *s stays valid until the next call.
 */
bool ks_ecs_user_str(struct ks_ecs_ctx *ctx, const struct ks_field_info *f,
		     const struct ks_event *ev, const char **s, size_t *len);

/*
 * A DNS message the host received at ts_ns (epoch, as events' times):
 * its addresses name live events' destination.domain from then on
 * (loader/dns.c). 0, -EINVAL for a message that is no answer, -ENOMEM.
 */
int ks_ecs_dns_answer(struct ks_ecs_ctx *ctx, const uint8_t *msg, size_t len, uint64_t ts_ns);
/* The DNS cache's counters (all 0 before the first answer). */
void ks_ecs_dns_stats(const struct ks_ecs_ctx *ctx, struct ks_dns_stats *st);

/* Decode one ECS object, the JSON text line[0..len). 0, or -1 with a message in err. */
int ks_ecs_decode_line(struct ks_ecs_ctx *ctx, const char *line, size_t len,
		       struct ks_event *ev, char *err, size_t errlen);

/*
 * Append one event (only present fields) to w as compact JSON, keys
 * sorted, no newline. w->oom says whether it did not fit.
 */
void ks_ecs_event_json(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev);

/*
 * Read Event JSONL. Malformed lines are reported to errout (may be NULL) as
 * "NAME:LINE: error: MESSAGE", counted in *skipped and skipped; blank lines
 * are ignored. cb gets every good event with ev->seq = line number; ev is
 * borrowed for the call. A non-zero return of cb stops reading and
 * is returned. Otherwise returns 0, or -errno on a read error.
 */
typedef int (*ks_ecs_event_cb)(void *arg, struct ks_event *ev, unsigned long line);
int ks_ecs_read_jsonl(FILE *in, const char *name, ks_ecs_event_cb cb,
		      void *arg, struct ks_ecs_ctx *ctx,
		      unsigned long *skipped, FILE *errout);

/* ---- alerts ---- */
/* The ECS version whose field names alerts use (ecs.version). */
#define KS_ECS_VERSION	"8.11.0"

struct ks_alert_meta {
	const char *id;
	const char *name;
	const char *severity;		/* low | medium | high | critical */
	const char *action;		/* alert | block | kill */
	const char *const *tags;
	size_t n_tags;
	/*
	 * Enforcements whose events the ring buffer had no room for: the
	 * alert says "message": KS_ECS_LOST_MESSAGE and kestrel.event_lost.
	 * With no events, lost_events of them (kestrel.lost_events) at
	 * ts_ns, with this outcome ("blocked" or "killed").
	 */
	bool event_lost;
	uint64_t lost_events;
	uint64_t ts_ns;
	const char *outcome;
	/*
	 * The event that completed the alert, one of its events: its time,
	 * host and outcome are the alert's. NULL: the last of the events (a
	 * sequence's); a sample lists its events in its filters' order.
	 */
	const struct ks_event *completing;
	/* what a SIEM reads of the rule; NULL / 0 / < 0 leave a field out */
	const char *uuid;		/* rule.uuid: an Elastic rule's rule_id */
	const char *description;	/* rule.description */
	const char *const *references;	/* rule.reference (an array) */
	size_t n_references;
	const struct ks_threat *threats; /* threat.* (ATT&CK) */
	size_t n_threats;
	int risk_score;			/* event.risk_score, 0..100 */
};

#define KS_ECS_LOST_MESSAGE	"enforced, event lost"

/*
 * One Alert JSONL object appended to w (compact, keys sorted, UTF-8
 * kept, no newline), with ecs.version and what meta says of the rule.
 * events[] in step order; the last one completed the rule and gives
 * @timestamp and event.outcome: "killed" if its verdict
 * has KS_V_KILLED, "blocked" if KS_V_DENIED, otherwise "success" (the
 * operation went ahead; it is also what an `alert` rule reports). No
 * events: only for meta->event_lost (see there). kestrel.join has
 * join_field_names[i]: join_values[i]. Returns 0, or -1 if there is
 * nothing to write or w ran out of memory (the text is incomplete).
 */
int ks_ecs_alert_json(struct ks_ecs_ctx *ctx, struct ks_jw *w,
		      const struct ks_alert_meta *meta,
		      const struct ks_event *const *events, size_t n_events,
		      const char *join_field_names[], const char *join_values[],
		      size_t n_join);

/* ---- helpers shared with kload ---- */
int ks_ecs_parse_time(const char *s, size_t len, uint64_t *ns);
/* Exactly 9 fractional digits and Z; buf has KS_ECS_TIME_LEN bytes. */
void ks_ecs_format_time(uint64_t ns, char *buf);

const char *ks_ecs_category_name(unsigned int cat);	/* NULL if unknown */
const char *ks_ecs_action_name(unsigned int act);
int ks_ecs_category_parse(const char *s);		/* -1 if unknown */
int ks_ecs_action_parse(const char *s);
/*
 * Whether action belongs to category: process exec/exit/fork; file
 * open/creation/deletion/rename/modification; network connect/accept/packet.
 */
bool ks_ecs_action_valid(unsigned int cat, unsigned int act);

/*
 * Text of one field of ev (loader/field.c), the value kestrel.join
 * prints and the NFA joins on: strings raw (command_line with ' '
 * separators), numbers in decimal, addresses in text form, entity ids
 * as in process.entity_id (names is where the original entity_id
 * strings are kept). Returns the length (the output is cut at buflen - 1
 * and NUL-terminated), or -1 if the field is null or not printable.
 */
int ks_field_text(const struct ks_ecs_ctx *names, const struct ks_event *ev,
		  unsigned int field, char *buf, size_t buflen);

/* ---- UTF-8 (loader/utf8.c) ---- */
/* Worst case output of ks_utf8_sanitize: every byte becomes U+FFFD. */
#define KS_UTF8_SANITIZED_MAX(n)	((n) * 3)

/*
 * Copy len bytes to out replacing each maximal subpart of an ill-formed
 * sequence (Unicode 15 sec. 3.9, WHATWG "decode") with U+FFFD. out must
 * hold KS_UTF8_SANITIZED_MAX(len) bytes; it is not NUL-terminated. NUL
 * bytes are well-formed and kept. Returns the output length.
 */
size_t ks_utf8_sanitize(const void *in, size_t len, char *out);
bool ks_utf8_valid(const void *in, size_t len);

#endif /* KESTREL_ECS_H */
