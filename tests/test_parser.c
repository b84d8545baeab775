// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL parser: an accept table (each query parses, prints back as the
 * expected EQL, and the printed form parses to the same print), and a
 * reject table with the exact diagnostics, FILE:LINE:COL included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <kestrel/rules.h>

#include "testlib.h"


static char *parse_fmt(const char *q, char **diags)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_query *pq = ks_parse_query(rs, q, (struct ks_loc){ "q", 1, 1 });
	char *out = pq ? ks_query_format(pq) : NULL;

	*diags = ks_test_diag_text(&rs->diags);
	ks_ruleset_free(rs);
	return out;
}

struct accept_case {
	const char *q;
	const char *fmt;	/* NULL: prints back as q */
};

static const struct accept_case accepts[] = {
	{ "process where process.name == \"bash\"", NULL },
	{ "process where process.name : \"BASH\"", NULL },
	{ "process where process.name != \"bash\"",
	  "process where process.name != null and not process.name == \"bash\"" },
	{ "process where process.name : \"ba*\"", NULL },
	{ "process where process.executable : \"*/sh\"", NULL },
	{ "process where process.command_line : \"*curl*\"", NULL },
	{ "process where process.name : \"b?sh\"", NULL },
	{ "process where process.name : \"*a*b*\"", NULL },
	{ "process where process.name : \"a**b\"", "process where process.name : \"a*b\"" },
	/* EQL functions of whole values, decided in userspace */
	{ "process where startsWith(process.executable, process.command_line)", NULL },
	{ "process where endsWith~(process.executable, process.name)", NULL },
	{ "process where stringContains(process.command_line, process.parent.name)",
	  NULL },
	{ "process where not startsWith(process.name, host.name) and "
	  "length(container.id) <= 64", NULL },
	{ "process where length(process.command_line) > 50", NULL },
	{ "process where length(process.name) != -1", NULL },
	{ "process where length(process.entity_id) == 0", NULL },
	{ "process where modulo(user.id, 65536) == 0", NULL },
	{ "process where modulo(process.pid, -7) >= -3 and not modulo(group.id, 2) != 1",
	  NULL },
	{ "process where process.name : \"*\"", NULL },
	{ "process where process.name : \"a\\*b*\"", NULL },
	{ "process where process.name == \"a*b\"", NULL },
	{ "process where process.name like \"Ba*\"", NULL },
	{ "process where process.name like~ \"Ba*\"", "process where process.name : \"Ba*\"" },
	{ "process where process.name like (\"a*\", \"b?c\")",
	  "process where process.name like \"a*\" or process.name like \"b?c\"" },
	{ "process where process.name in (\"a\", \"b\")", NULL },
	{ "process where process.name in~ (\"A\", \"b\")",
	  "process where process.name : (\"A\", \"b\")" },
	{ "process where process.name not in (\"a\", \"b\")",
	  "process where process.name != null and not process.name in (\"a\", \"b\")" },
	{ "process where process.name : (\"bash\", \"*sh\", \"z*\")",
	  "process where process.name : \"bash\" or process.name : \"z*\" or "
	  "process.name : \"*sh\"" },
	{ "process where startsWith(process.name, \"ba\")",
	  "process where process.name like \"ba*\"" },
	{ "process where startsWith~(process.name, \"BA\")",
	  "process where process.name : \"BA*\"" },
	{ "process where endsWith(process.executable, \"/sh\")",
	  "process where process.executable like \"*/sh\"" },
	{ "process where endsWith~(process.executable, \"/SH\")",
	  "process where process.executable : \"*/SH\"" },
	{ "process where stringContains(process.command_line, \"a*b\")",
	  "process where process.command_line like \"*a\\*b*\"" },
	{ "process where stringContains~(process.command_line, \"X\")",
	  "process where process.command_line : \"*X*\"" },
	/* containing or ending with "" is having a value: one form */
	{ "process where stringContains(process.command_line, \"\")",
	  "process where process.command_line like \"*\"" },
	{ "process where endsWith~(process.name, \"\")",
	  "process where process.name : \"*\"" },
	{ "process where process.args : \"-c\"", NULL },
	/* EQL regex: Elastic's whole-value match; raw strings */
	{ "process where process.name regex \"ba.h\"", NULL },
	{ "process where process.name regex~ (\"BA.h\", \"[a-z]+sh\")", NULL },
	{ "process where process.name regex (\"[]^$]x\", \"[^]a]\")", NULL },
	{ "process where process.name regex \"\"\"a\\.b\"\"\"",
	  "process where process.name regex \"a\\\\.b\"" },
	{ "process where process.name == \"\"\"a\\b\n\"\"\"",
	  "process where process.name == \"a\\\\b\\n\"" },
	{ "process where regex(process.name, \"^ba\")", NULL },
	/* optional fields: a known one is the field, an unknown one is null */
	{ "process where ?process.name == \"a\"",
	  "process where process.name == \"a\"" },
	{ "process where ?`process.name` : \"a*\"",
	  "process where process.name : \"a*\"" },
	{ "process where process.name == \"a\" and ?no.such.field == \"b\"",
	  "process where process.name == \"a\" and false" },
	{ "process where process.name == \"a\" and ?no.such != \"b\"",
	  "process where process.name == \"a\" and false" },
	{ "process where process.name == \"a\" and ?no.such not in (\"b\")",
	  "process where process.name == \"a\" and false" },
	{ "process where process.name == \"a\" and not ?no.such : \"b*\"",
	  "process where process.name == \"a\" and not false" },
	{ "process where process.name == \"a\" and ?no.such == null",
	  "process where process.name == \"a\" and true" },
	{ "process where process.name == \"a\" and ?no.such != null",
	  "process where process.name == \"a\" and false" },
	{ "process where process.name == \"a\" or startsWith(?no.such, \"x\")",
	  "process where process.name == \"a\" or false" },
	{ "process where process.args == \"-c\" and process.args_count >= 2", NULL },
	{ "process where process.pid == 1 and process.parent.pid != 1", NULL },
	{ "process where process.pid < 100 and process.pid <= 100 and "
	  "process.pid > 1 and process.pid >= 2", NULL },
	{ "process where process.exit_code == -1", NULL },
	{ "process where user.id in (0, 1000)", NULL },
	{ "process where user.id not in (0, 1000)",
	  "process where user.id != null and not user.id in (0, 1000)" },
	{ "process where process.parent.name == null", NULL },
	{ "process where process.parent.name != null", NULL },
	{ "process where not process.name == \"a\"", NULL },
	{ "process where not (process.name == \"a\" or process.name == \"b\")", NULL },
	{ "process where process.name == \"a\" or process.name == \"b\" and "
	  "process.pid == 1", NULL },
	{ "process where (process.name == \"a\" or process.name == \"b\") and "
	  "process.pid == 1", NULL },
	{ "process where true", NULL },
	{ "process where false", NULL },
	{ "any where true", NULL },
	{ "file where file.path : \"/tmp/*\" and not file.name : \"*.log\"", NULL },
	{ "file where file.extension in~ (\"SH\", \"py\")",
	  "file where file.extension : (\"SH\", \"py\")" },
	/* file.target_path: a rename's file.path, null on other events */
	{ "file where file.target_path : \"/etc/*\"",
	  "file where event.action == \"rename\" and file.path : \"/etc/*\"" },
	{ "file where file.target_path == null",
	  "file where event.action == \"rename\" and file.path == null or "
	  "event.action != \"rename\"" },
	{ "file where file.target_path != \"/a\"",
	  "file where event.action == \"rename\" and file.path != null and "
	  "not file.path == \"/a\"" },
	{ "file where startsWith(file.target_path, \"/etc/\") or "
	  "length(file.target_path) > 3",
	  "file where event.action == \"rename\" and file.path like \"/etc/*\" or "
	  "event.action == \"rename\" and length(file.path) > 3" },
	{ "file where file.Ext.original.name == \"shadow+\" and "
	  "file.Ext.original.extension : \"dpkg-new\" and file.Ext.original.path != null",
	  NULL },
	{ "network where destination.port in (22, 23) and "
	  "network.transport == \"tcp\"", NULL },
	{ "network where network.transport == 6", "network where network.transport == \"tcp\"" },
	{ "network where network.transport : \"TCP\"", "network where network.transport == \"tcp\"" },
	{ "network where network.direction == \"ingress\" and "
	  "payload : \"*GET /admin*\" and observer.ingress.interface.name == \"veth0\"", NULL },
	{ "network where cidrMatch(source.ip, \"192.168.0.0/16\", \"fe80::/10\")", NULL },
	{ "network where cidrMatch(source.ip, \"10.1.2.3/8\")",
	  "network where cidrMatch(source.ip, \"10.0.0.0/8\")" },
	{ "network where destination.ip == \"1.2.3.4\"", NULL },
	{ "network where destination.ip in (\"1.2.3.4\", \"::1\")", NULL },
	{ "network where destination.ip != \"1.2.3.4\"",
	  "network where destination.ip != null and not destination.ip == \"1.2.3.4\"" },
	{ "any where event.action : \"cre*\"", "any where event.action == \"creation\"" },
	{ "any where event.action in (\"exec\", \"exit\") and "
	  "event.category == \"process\"",
	  "any where event.action in (\"exec\", \"end\") and "
	  "event.category == \"process\"" },
	{ "any where event.action != \"exec\"", NULL },
	{ "any where startsWith(event.action, \"e\")",
	  "any where event.action in (\"exec\", \"end\")" },
	/* Elastic Defend's names of Kestrel's actions; event.type as Defend
	 * derives it from the action; values no Kestrel event holds */
	{ "any where event.action in (\"end\", \"connection_attempted\", "
	  "\"connection_accepted\")", NULL },
	{ "any where event.action : \"con*\"",
	  "any where event.action in (\"connection_attempted\", \"connection_accepted\")" },
	{ "any where event.action in (\"exit\", \"connect\", \"accept\")",
	  "any where event.action in (\"end\", \"connection_attempted\", \"connection_accepted\")" },
	{ "any where event.type == \"start\"",
	  "any where event.action in (\"exec\", \"fork\", \"connection_attempted\", "
	  "\"connection_accepted\")" },
	/* "change" is also the process's uid, gid and session id changes */
	{ "file where event.type in (\"creation\", \"change\")",
	  "file where event.action in (\"creation\", \"rename\", \"modification\", "
	  "\"uid_change\", \"gid_change\", \"session_id_change\")" },
	{ "file where event.type != \"deletion\"", "file where event.action != \"deletion\"" },
	{ "process where event.type == \"end\"", "process where event.action == \"end\"" },
	{ "process where event.action in (\"exec\", \"exec_event\", \"ProcessRollup2\", "
	  "\"executed\")",
	  "process where event.action in (\"exec\", \"disconnect_received\")" },
	{ "process where event.action != \"load_module\"",
	  "process where event.action != \"disconnect_received\"" },
	/* already_running is Kestrel's too (from /proc at attach), type info */
	{ "process where event.action != \"already_running\"", NULL },
	{ "process where event.type == \"info\"",
	  "process where event.action == \"already_running\"" },
	/* the process's credential changes, as Defend names them */
	{ "process where event.action in (\"uid_change\", \"guid_change\") and "
	  "event.type == \"change\"",
	  "process where event.action in (\"uid_change\", \"disconnect_received\") and "
	  "event.action in (\"rename\", \"modification\", \"uid_change\", \"gid_change\", "
	  "\"session_id_change\")" },
	{ "process where event.type in (\"info\", \"start\")",
	  "process where event.action in (\"already_running\", \"exec\", \"fork\", "
	  "\"connection_attempted\", \"connection_accepted\")" },
	/* capability sets: the names a wildcard matches, "any of" */
	{ "process where process.thread.capabilities.effective : \"CAP_SET?ID\"",
	  "process where process.thread.capabilities.effective in (\"CAP_SETGID\", \"CAP_SETUID\")" },
	{ "process where process.thread.capabilities.permitted != \"CAP_SYS_ADMIN\"", NULL },
	{ "process where process.thread.capabilities.effective : (\"cap_chown\", \"CAP_FOWNER\")",
	  "process where process.thread.capabilities.effective in (\"CAP_CHOWN\", \"CAP_FOWNER\")" },
	/* data_stream.dataset is Defend's name of the category */
	{ "any where data_stream.dataset == \"endpoint.events.file\"",
	  "any where event.category == \"file\"" },
	{ "any where data_stream.dataset : \"endpoint.events.*\"",
	  "any where event.category in (\"process\", \"file\", \"network\")" },
	{ "any where data_stream.dataset in (\"endpoint.events.process\", "
	  "\"auditd_manager.auditd\")",
	  "any where event.category == \"process\"" },
	{ "any where data_stream.dataset != \"system.auth\" and "
	  "data_stream.dataset not in (\"endpoint.events.file\", \"system.auth\")",
	  "any where true and event.category != \"file\"" },
	/* ECS ids are keywords: their decimal text is the number */
	{ "process where user.id == \"0\" and group.id in (\"0\", \"4294967295\")",
	  "process where user.id == 0 and group.id in (0, 4294967295)" },
	{ "process where user.id != \"1000\"", "process where user.id != 1000" },
	/* host.os.type is "linux": decided when compiling */
	{ "process where host.os.type == \"linux\" and process.name == \"x\"",
	  "process where true and process.name == \"x\"" },
	{ "process where host.os.type : \"WIN*\" or process.name == \"x\"",
	  "process where false or process.name == \"x\"" },
	{ "process where host.os.type != \"linux\" or host.os.type in (\"macos\", \"linux\")",
	  "process where false or true" },
	/* its functions too: unfolded, endsWith printed as like folded only when reparsed */
	{ "process where endsWith(host.os.type, \"sh\") and process.pid == 1",
	  "process where false and process.pid == 1" },
	{ "process where stringContains(host.os.type, \"x\") or startsWith~(host.os.type, \"LIN\")",
	  "process where true or true" },
	/* entry_meta.type: the kernel's pid namespace ("container": not the host's) */
	{ "process where process.entry_leader.entry_meta.type == \"container\"",
	  "process where kestrel.process.pid_ns != 0 and kestrel.process.pid_ns != 4026531836" },
	{ "process where process.entry_leader.entry_meta.type != \"container\"",
	  "process where kestrel.process.pid_ns == 4026531836" },
	{ "process where process.entry_leader.entry_meta.type in (\"init\", \"sshd\", "
	  "\"ssm\", \"kubelet\", \"teleport\", \"terminal\", \"console\", \"unknown\")",
	  "process where kestrel.process.pid_ns == 4026531836" },
	{ "process where process.entry_leader.entry_meta.type : \"CONT*\" or "
	  "process.entry_leader.entry_meta.type == null",
	  "process where kestrel.process.pid_ns != 0 and kestrel.process.pid_ns != 4026531836 or "
	  "kestrel.process.pid_ns == null or kestrel.process.pid_ns == 0" },
	/* its functions fold too */
	{ "process where startsWith(process.entry_leader.entry_meta.type, \"cont\") and "
	  "length(process.entry_leader.entry_meta.type) == 9",
	  "process where kestrel.process.pid_ns != 0 and kestrel.process.pid_ns != 4026531836 "
	  "and kestrel.process.pid_ns != 0 and kestrel.process.pid_ns != 4026531836" },
	{ "process where process.entry_leader.entry_meta.type like \"*\"",
	  "process where kestrel.process.pid_ns != 0 and kestrel.process.pid_ns != 4026531836 or "
	  "kestrel.process.pid_ns == 4026531836" },
	{ "any where host.name == \"h1\"", NULL },
	/* Elastic's booleans */
	{ "process where process.interactive == true and process.parent.interactive == false",
	  NULL },
	{ "process where process.interactive != true",
	  "process where process.interactive != null and not process.interactive == true" },
	{ "process where process.interactive in (true, false, true)",
	  "process where process.interactive in (true, false)" },
	{ "process where process.interactive : false", "process where process.interactive == false" },
	{ "process where process.entity_id == \"42-100\"", NULL },
	{ "process where process.parent.command_line : \"*java*\"", NULL },
	{ "process where `process.name` == \"x\"", "process where process.name == \"x\"" },
	{ "process where /* block */ process.name == \"x\" // to the end",
	  "process where process.name == \"x\"" },
	{ "process where process.command_line == \"a \\\"b\\\" \\\\ c\\n\\t\"", NULL },
	{ "sequence by process.entity_id with maxspan=30s\n"
	  "  [file where event.action == \"creation\" and file.path : \"/tmp/*\"]\n"
	  "  [process where event.action == \"exec\" and process.executable : \"/tmp/*\"]",
	  NULL },
	{ "sequence with maxspan=100ms by user.id [process where true] [file where true]",
	  "sequence by user.id with maxspan=100ms\n  [process where true]\n"
	  "  [file where true]" },
	{ "sequence with maxspan=5m [process where true] [file where true]",
	  "sequence with maxspan=5m\n  [process where true]\n  [file where true]" },
	{ "sequence with maxspan=2h [process where true] [file where true]",
	  "sequence with maxspan=2h\n  [process where true]\n  [file where true]" },
	{ "sequence with maxspan=120s [process where true] [file where true]",
	  "sequence with maxspan=2m\n  [process where true]\n  [file where true]" },
	{ "sequence\n  [process where process.name == \"a\"] by process.pid\n"
	  "  [file where true] by process.pid\n"
	  "until [process where event.action == \"end\"] by process.pid", NULL },
	{ "sequence by process.entity_id\n  [process where true] with runs=3\n"
	  "  [network where true]", NULL },
	{ "sequence [process where true] with runs=2",
	  "sequence\n  [process where true] with runs=2" },
	/* join keys kload's NFA reads in userspace (Elastic's corpus joins on them) */
	{ "sequence by host.id, user.name, process.parent.entity_id with maxspan=5s\n"
	  "  [process where true] with runs=10", NULL },
	{ "sequence by process.working_directory, process.parent.working_directory\n"
	  "  [process where true]\n  [process where true]", NULL },
	{ "sequence by agent.id\n  [network where true]\n  [file where true]", NULL },
	/* Elastic's samples: `sample by` keys, per-filter keys, up to five filters */
	{ "sample by host.id, process.pid\n  [process where process.name == \"a\"]\n"
	  "  [network where true]", NULL },
	{ "sample [process where true] by process.pid [file where true] by process.pid",
	  "sample\n  [process where true] by process.pid\n  [file where true] by process.pid" },
	{ "sample by host.id [process where true] by process.pid [file where true] by process.pid "
	  "[network where true] by process.pid [process where true] by process.pid "
	  "[file where true] by process.pid",
	  "sample by host.id\n  [process where true] by process.pid\n"
	  "  [file where true] by process.pid\n  [network where true] by process.pid\n"
	  "  [process where true] by process.pid\n  [file where true] by process.pid" },
};

static void test_accept(void **state)
{
	size_t i;
	char *out, *out2, *d;

	for (i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		const char *want = accepts[i].fmt ? accepts[i].fmt : accepts[i].q;

		out = parse_fmt(accepts[i].q, &d);
		if (!out || strcmp(out, want))
			fprintf(stderr, "query: %s\n got: %s\nwant: %s\ndiag: %s\n",
				accepts[i].q, out ? out : "(null)", want, d);
		assert_non_null(out);
		assert_string_equal(out, want);
		assert_string_equal(d, "");
		free(d);
		/* the printed form is a fixed point */
		out2 = parse_fmt(out, &d);
		assert_non_null(out2);
		assert_string_equal(out2, out);
		free(d);
		free(out);
		free(out2);
	}
}

struct reject_case {
	const char *q;
	const char *diag;
};

static const struct reject_case rejects[] = {
	{ "process where process.nme == \"x\"",
	  "q:1:15: error: unknown field \"process.nme\" (did you mean \"process.name\"?)" },
	{ "process where foo.bar.baz.qux == 1",
	  "q:1:15: error: unknown field \"foo.bar.baz.qux\"" },
	{ "process where process.pid == \"x\"",
	  "q:1:30: error: cannot compare numeric field process.pid with a string" },
	{ "process where process.name == 1",
	  "q:1:31: error: cannot compare string field process.name with a number" },
	{ "process where process.name < \"a\"",
	  "q:1:15: error: operator < is not supported on string field process.name" },
	{ "process where process.pid like \"1*\"",
	  "q:1:15: error: operator like is not supported on numeric field process.pid" },
	{ "process where foo(process.name)",
	  "q:1:15: error: unknown function \"foo\"" },
	{ "process where length(process.name)",
	  "q:1:15: error: length(...) is a number: compare it with one" },
	{ "process where modulo(user.id, 2)",
	  "q:1:15: error: modulo(...) is a number: compare it with one" },
	{ "process where modulo(user.id, 0) == 0",
	  "q:1:31: error: modulo by 0" },
	{ "process where modulo(user.id) == 0",
	  "q:1:15: error: modulo expects 2 arguments, a field and a number" },
	{ "process where modulo(user.id, \"2\") == 0",
	  "q:1:15: error: modulo expects 2 arguments, a field and a number" },
	{ "process where modulo(process.name, 3) == 0",
	  "q:1:22: error: modulo needs a numeric field; process.name is a string" },
	{ "process where modulo(event.action, 3) == 0",
	  "q:1:22: error: modulo needs a numeric field; event.action is a keyword" },
	{ "process where modulo(user.id, 3) == \"1\"",
	  "q:1:37: error: modulo(...) is compared with a number, got string \"1\"" },
	{ "process where modulo~(user.id, 3) == 1",
	  "q:1:15: error: unknown function \"modulo~\"" },
	{ "process where length(process.args) > 1",
	  "q:1:22: error: length needs a string field here; process.args is a "
	  "string array" },
	{ "process where length(process.name) > \"3\"",
	  "q:1:38: error: length(...) is compared with a number, got string \"3\"" },
	{ "process where length(process.name, process.executable) > 3",
	  "q:1:15: error: length expects 1 argument, a field" },
	{ "process where length~(process.name) > 3",
	  "q:1:15: error: unknown function \"length~\"" },
	{ "process where foo(process.name) == 3",
	  "q:1:15: error: unknown function \"foo\"" },
	{ "network where startsWith(process.name, source.ip)",
	  "q:1:40: error: startsWith needs a string field here; source.ip is an "
	  "IP address" },
	{ "process where endsWith(process.name, event.action)",
	  "q:1:38: error: endsWith needs a string field here; event.action is a "
	  "keyword" },
	{ "process where stringContains(process.args, process.name)",
	  "q:1:30: error: stringContains needs a string field here; process.args "
	  "is a string array" },
	/* the userspace-enriched array too (it once passed as a string) */
	{ "process where length(process.parent.args) > 1",
	  "q:1:22: error: length needs a string field here; "
	  "process.parent.args is a string array" },
	{ "process where startsWith(process.name, process.parent.args)",
	  "q:1:40: error: startsWith needs a string field here; "
	  "process.parent.args is a string array" },
	{ "process where startsWith(process.name, process.nam)",
	  "q:1:40: error: unknown field \"process.nam\" (did you mean "
	  "\"process.name\"?)" },
	{ "process where cidrMatch~(source.ip, \"1.2.3.4\")",
	  "q:1:15: error: unknown function \"cidrMatch~\"" },
	{ "process where startsWith(process.name)",
	  "q:1:15: error: startsWith expects 2 arguments, got 1" },
	{ "process where endsWith(process.name, \"a\", \"b\")",
	  "q:1:15: error: endsWith expects 2 arguments, got 3" },
	{ "network where cidrMatch(source.ip)",
	  "q:1:15: error: cidrMatch expects at least 2 arguments, got 1" },
	{ "process where startsWith(\"a\", \"b\")",
	  "q:1:26: error: the first argument of startsWith must be a field" },
	{ "process where startsWith(process.pid, \"1\")",
	  "q:1:26: error: startsWith needs a string field; process.pid is a number" },
	{ "process where cidrMatch(process.name, \"10.0.0.0/8\")",
	  "q:1:25: error: cidrMatch needs an IP field; process.name is a string" },
	{ "network where cidrMatch(source.ip, \"10.0.0.0/33\")",
	  "q:1:36: error: invalid CIDR \"10.0.0.0/33\"" },
	{ "network where source.ip == \"1.2.3\"",
	  "q:1:28: error: invalid IP address \"1.2.3\"" },
	{ "network where source.ip > \"1.2.3.4\"",
	  "q:1:15: error: operator > is not supported on IP field source.ip (use ==, in or cidrMatch)" },
	{ "any where event.action == \"exce\"",
	  "q:1:27: error: unknown value \"exce\" for event.action (expected one of: "
	  "exec, end, fork, open, creation, deletion, rename, modification, "
	  "connection_attempted, connection_accepted, packet, uid_change, gid_change, session_id_change, already_running, the former exit, "
	  "connect, accept, or a value another ECS source emits)" },
	{ "process where user.id == \"007\"",
	  "q:1:26: error: \"007\" is not the decimal text of a user.id (0..4294967295)" },
	{ "process where user.id : \"1*\"",
	  "q:1:25: error: \"1*\" is not the decimal text of a user.id (0..4294967295)" },
	{ "process where group.id >= \"5\"",
	  "q:1:27: error: operator >= on the keyword group.id orders text: compare with a number" },
	{ "process where process.pid == \"5\"",
	  "q:1:30: error: cannot compare numeric field process.pid with a string" },
	{ "process where event.action == \"load_module\"",
	  "q:1:15: error: no Kestrel event has event.action load_module (Kestrel does "
	  "not emit it), so this test could never be true" },
	{ "process where event.type in (\"admin\", \"user\")",
	  "q:1:15: error: no Kestrel event has event.type of any value listed "
	  "(Kestrel does not emit it), so this test could never be true" },
	{ "sequence by process.thread.capabilities.effective [process where true] "
	  "[process where true]",
	  "q:1:13: error: cannot join on process.thread.capabilities.effective: a set "
	  "of values is no join key" },
	{ "process where process.thread.capabilities.effective == \"cap_bpf\"",
	  "q:1:56: error: unknown value \"cap_bpf\" for process.thread.capabilities.effective "
	  "(expected one of: a capability name, CAP_CHOWN to CAP_CHECKPOINT_RESTORE)" },
	{ "process where process.thread.capabilities.permitted >= \"CAP_BPF\"",
	  "q:1:15: error: operator >= is not supported on enum field "
	  "process.thread.capabilities.permitted" },
	{ "process where process.thread.capabilities.permitted == 21",
	  "q:1:56: error: cannot compare process.thread.capabilities.permitted with a "
	  "number (expected one of: a capability name, CAP_CHOWN to CAP_CHECKPOINT_RESTORE)" },
	{ "file where data_stream.dataset == \"network_traffic.http\"",
	  "q:1:12: error: no Kestrel event has data_stream.dataset network_traffic.http "
	  "(Kestrel does not emit it), so this test could never be true" },
	{ "file where data_stream.dataset == \"endpoint.events\"",
	  "q:1:35: error: unknown value \"endpoint.events\" for data_stream.dataset "
	  "(expected one of: endpoint.events.process, endpoint.events.file, "
	  "endpoint.events.network, or a dataset of another source)" },
	{ "any where event.type == \"begin\"",
	  "q:1:25: error: unknown value \"begin\" for event.type (expected one of: "
	  "start, end, access, creation, deletion, change, connection, info, or another "
	  "ECS event.type)" },
	{ "any where event.action : \"exec_ev*\"",
	  "q:1:26: error: unknown value \"exec_ev*\" for event.action (expected one of: "
	  "exec, end, fork, open, creation, deletion, rename, modification, "
	  "connection_attempted, connection_accepted, packet, uid_change, gid_change, session_id_change, already_running, the former exit, "
	  "connect, accept, or a value another ECS source emits)" },
	{ "any where event.action == \"EXEC\"",
	  "q:1:27: error: unknown value \"EXEC\" for event.action (expected one of: "
	  "exec, end, fork, open, creation, deletion, rename, modification, "
	  "connection_attempted, connection_accepted, packet, uid_change, gid_change, session_id_change, already_running, the former exit, "
	  "connect, accept, or a value another ECS source emits)" },
	{ "network where network.transport == \"quic\"",
	  "q:1:36: error: unknown value \"quic\" for network.transport (expected one of: "
	  "tcp, udp, icmp, ipv6-icmp, igmp, gre, sctp (icmpv6))" },
	{ "network where network.direction == 1",
	  "q:1:36: error: cannot compare network.direction with a number (expected "
	  "one of: ingress, egress (inbound, outbound))" },
	{ "proc where true",
	  "q:1:1: error: unknown event category \"proc\" (expected process, file, network or any)" },
	{ "process process.name == \"x\"",
	  "q:1:9: error: expected \"where\", got \"process.name\"" },
	{ "where true",
	  "q:1:1: error: expected an event category (process, file, network or any), got \"where\"" },
	{ "process where",
	  "q:1:14: error: expected a condition, got end of query" },
	{ "process where true garbage",
	  "q:1:20: error: unexpected \"garbage\" after the end of the query" },
	{ "process where process.name == \"a\" )",
	  "q:1:35: error: unexpected \")\" after the end of the query" },
	{ "process where (process.name == \"a\"",
	  "q:1:35: error: expected \")\", got end of query" },
	{ "process where process.name \"a\"",
	  "q:1:28: error: expected an operator after \"process.name\", got string \"a\"" },
	{ "process where process.name == ",
	  "q:1:30: error: expected a value, got end of query" },
	{ "process where process.name in \"a\"",
	  "q:1:31: error: expected \"(\" after \"in\", got string \"a\"" },
	{ "process where process.name in (\"a\" \"b\")",
	  "q:1:36: error: expected \",\" or \")\" in the list, got string \"b\"" },
	{ "process where process.name == process.executable",
	  "q:1:31: error: comparing a field with another field is not supported" },
	{ "process where process.name in (\"a\", null)",
	  "q:1:37: error: null can only be compared with == or !=" },
	{ "process where process.name == true",
	  "q:1:31: error: cannot compare process.name with a boolean" },
	{ "process where process.pid == 1.5",
	  "q:1:30: error: floating-point numbers are not supported" },
	{ "process where process.pid == 99999999999999999999",
	  "q:1:30: error: number out of range" },
	{ "process where process.name == \"abc",
	  "q:1:31: error: unterminated string" },
	{ "process where process.name == \"abc\ndef\"",
	  "q:1:31: error: unterminated string" },
	{ "process where process.name == 'x'",
	  "q:1:31: error: strings are written in double quotes" },
	{ "process where process.name == \"a\\q\"",
	  "q:1:33: error: unknown escape sequence \\q in string" },
	{ "process where /* never closed",
	  "q:1:15: error: unterminated comment" },
	{ "process where process.name == \"a\" && true",
	  "q:1:35: error: unexpected character '&'" },
	{ "sequence [process where true] with runs=0 [file where true]",
	  "q:1:41: error: runs must be between 1 and 100, got 0" },
	{ "sequence [process where true] with runs=101 [file where true]",
	  "q:1:41: error: runs must be between 1 and 100, got 101" },
	{ "sequence [process where true] with maxspan=1s [file where true]",
	  "q:1:36: error: expected \"runs\" after \"with\", got \"maxspan\"" },
	{ "sequence with maxspan=30 [process where true] [file where true]",
	  "q:1:23: error: maxspan needs a time unit (ms, s, m or h)" },
	{ "sequence with maxspan=30 s [process where true] [file where true]",
	  "q:1:23: error: maxspan needs a time unit (ms, s, m or h)\n"
	  "q:1:26: error: expected \"[\" to start a sequence step, got \"s\"" },
	{ "sequence with maxspan=5d [process where true] [file where true]",
	  "q:1:24: error: unknown time unit \"d\" (expected ms, s, m or h)" },
	{ "sequence with maxspan=0s [process where true] [file where true]",
	  "q:1:23: error: maxspan must be positive" },
	{ "sequence [process where true]",
	  "q:1:1: error: a sequence needs at least two steps" },
	{ "sequence [process where true] [file where true",
	  "q:1:47: error: expected \"]\" to close the step, got end of query" },
	{ "sequence by process.entity_id [process where true] by process.pid "
	  "[file where true]",
	  "q:1:67: error: inconsistent number of join keys: the first step has 1, this one 0" },
	{ "sequence [process where true] [file where true] until [process where true] with runs=2",
	  "q:1:86: error: runs is not allowed on until" },
	{ "sequence by process.pid, user.id, group.id [process where true] by "
	  "process.name, file.path [file where true] by process.name, file.path",
	  "q:1:44: error: too many join fields (at most 4)\n"
	  "q:1:92: error: too many join fields (at most 4)" },
	{ "process where ?process.nme == \"x\" and process.nme == \"x\"",
	  "q:1:39: error: unknown field \"process.nme\" (did you mean \"process.name\"?)" },
	{ "process where ?no.such > null",
	  "q:1:26: error: null can only be compared with == or !=" },
	{ "process where ? process.name == \"a\"",
	  "q:1:15: error: unexpected character '?'" },
	{ "sequence by process.parent.args_count [process where true] [file where true]",
	  "q:1:13: error: cannot join on process.parent.args_count: only fields the "
	  "kernel fills, host.*, agent.id and the strings of one value kload reads "
	  "(user.name, the working directories, process.parent.command_line, the "
	  "leaders' names) can be join keys" },
	{ "sequence by file.target_path [file where true] [file where true]",
	  "q:1:13: error: cannot join on file.target_path: it is a rename's file.path, "
	  "null on other events; join on file.path" },
	{ "sequence by process.env_vars [process where true] [file where true]",
	  "q:1:13: error: cannot join on process.env_vars: only fields the "
	  "kernel fills, host.*, agent.id and the strings of one value kload reads "
	  "(user.name, the working directories, process.parent.command_line, the "
	  "leaders' names) can be join keys" },
	{ "process where process.parent.args_count == 4294967296",
	  "q:1:44: error: 4294967296 is out of range for process.parent.args_count (0..4294967295)" },
	{ "process where process.parent.args_count : \"x*\"",
	  "q:1:43: error: cannot compare numeric field process.parent.args_count "
	  "with a string" },
	{ "sequence by ?no.such [process where true] [file where true]",
	  "q:1:13: error: unknown field \"no.such\" cannot be a join key "
	  "(optional or not)" },
	{ "process where process.name regex \"a(b\"",
	  "q:1:34: error: invalid regular expression \"a(b\": missing closing "
	  "parenthesis (at offset 3)" },
	{ "process where process.name regex (\"a\", \"^b\")",
	  "q:1:40: error: invalid regular expression \"^b\": anchors ^ and $ are "
	  "literals in Elastic's regex, which always matches the whole value "
	  "(escape them) (at offset 0)" },
	{ "process where process.name regex \"a\\\\bc\"",
	  "q:1:34: error: invalid regular expression \"a\\bc\": \\b is not in "
	  "Elastic's regex (there, a literal 'b') (at offset 1)" },
	{ "process where process.name regex \"(?i)a\"",
	  "q:1:34: error: invalid regular expression \"(?i)a\": (?...) groups are "
	  "not in Elastic's regex (at offset 0)" },
	{ "process where process.name regex \"a*+\"",
	  "q:1:34: error: invalid regular expression \"a*+\": possessive "
	  "quantifiers (a*+) are not in Elastic's regex (at offset 1)" },
	{ "process where process.name regex \"a@\"",
	  "q:1:34: error: invalid regular expression \"a@\": Lucene's operator "
	  "'@' is not supported (escape it for the literal) (at offset 1)" },
	{ "process where process.name regex \"[[:alpha:]]\"",
	  "q:1:34: error: invalid regular expression \"[[:alpha:]]\": POSIX "
	  "classes like [:alpha:] are not in Elastic's regex (at offset 1)" },
	{ "process where ?no.such regex \"a(b\"",
	  "q:1:30: error: invalid regular expression \"a(b\": missing closing "
	  "parenthesis (at offset 3)" },
	/* "\\[" inside brackets does not start a member: the ^ after is seen */
	{ "process where process.name regex \"[\\\\[]^a\"",
	  "q:1:34: error: invalid regular expression \"[\\[]^a\": anchors ^ and $ "
	  "are literals in Elastic's regex, which always matches the whole value "
	  "(escape them) (at offset 4)" },
	{ "process where process.pid regex \"1.*\"",
	  "q:1:15: error: regex needs a string field; process.pid is a number" },
	{ "process where process.name regex 1",
	  "q:1:34: error: regex takes strings" },
	{ "process where process.name == \"\"\"abc\"",
	  "q:1:31: error: unterminated \"\"\"raw string\"\"\"" },
	{ "sample by process.pid with maxspan=1m [process where true] [file where true]",
	  "q:1:23: error: a sample takes no \"with\" (maxspan): Elastic's samples "
	  "match their filters regardless of time" },
	{ "sample by process.pid [process where true] with runs=2 [file where true]",
	  "q:1:54: error: runs is not allowed on a sample's filter (Elastic's samples "
	  "take no runs)" },
	{ "sample by process.pid [process where true] [file where true] "
	  "until [process where true]",
	  "q:1:62: error: a sample takes no \"until\": Elastic's samples match their "
	  "filters regardless of order" },
	{ "sample [process where true] [file where true]",
	  "q:1:1: error: a sample needs a join key (sample by FIELD): its events share "
	  "the values of the join keys" },
	{ "sample by process.pid [process where true]",
	  "q:1:1: error: a sample needs two to 5 filters, this one has 1" },
	{ "sample by process.pid [process where true] [file where true] "
	  "[network where true] [process where true] [file where true] [network where true]",
	  "q:1:1: error: a sample needs two to 5 filters, this one has 6" },
	{ "sample [process where true] by process.pid [file where true] by process.parent.pid",
	  "q:1:44: error: a sample's filters joining on different fields "
	  "(process.parent.pid here, process.pid in the first filter) are not "
	  "supported: join every filter on the same fields" },
	{ "sample by host.id [process where true] by process.pid [file where true]",
	  "q:1:55: error: inconsistent number of join keys: the first step has 1, "
	  "this one 0" },
	{ "sample by process.env_vars [process where true] [file where true]",
	  "q:1:11: error: cannot join on process.env_vars: only fields the kernel "
	  "fills, host.*, agent.id and the strings of one value kload reads "
	  "(user.name, the working directories, process.parent.command_line, the "
	  "leaders' names) can be join keys" },
	{ "process where process.name == \"sh\" and descendant of "
	  "[process where process.name == \"sshd\"]",
	  "q:1:40: error: descendant of (a test on the process's ancestry) is "
	  "not supported" },
	{ "process where child of [process where true]",
	  "q:1:15: error: child of (a test on the process's ancestry) is not "
	  "supported" },
	{ "process where true | head 5",
	  "q:1:20: error: pipes (| head, | tail, | unique, | filter, ...) are not "
	  "supported" },
	{ "process where process.entry_leader.entry_meta.type == \"sshd\"",
	  "q:1:15: error: process.entry_leader.entry_meta.type: Kestrel tells "
	  "\"container\" (a pid namespace other than the host's) from the host's "
	  "sessions, not \"sshd\" from \"init\"" },
	{ "process where process.entry_leader.entry_meta.type != \"terminal\"",
	  "q:1:15: error: process.entry_leader.entry_meta.type: Kestrel tells "
	  "\"container\" (a pid namespace other than the host's) from the host's "
	  "sessions, not \"terminal\" from \"init\"" },
	{ "process where process.interactive == \"true\"",
	  "q:1:38: error: process.interactive is a boolean: compare it with true or false" },
	{ "process where process.interactive like \"t*\"",
	  "q:1:15: error: process.interactive is a boolean: compare it with ==, !=, : or in" },
	{ "process where process.interactive > true",
	  "q:1:15: error: process.interactive is a boolean: compare it with ==, !=, : or in" },
	{ "process where endsWith(process.interactive, \"e\")",
	  "q:1:24: error: endsWith needs a string field; process.interactive is a boolean" },
	{ "process where process.name == false",
	  "q:1:31: error: cannot compare process.name with a boolean" },
	{ "sequence by process.interactive [process where true] [file where true]",
	  "q:1:13: error: cannot join on process.interactive: only fields the "
	  "kernel fills, host.*, agent.id and the strings of one value kload reads "
	  "(user.name, the working directories, process.parent.command_line, the "
	  "leaders' names) can be join keys" },
	{ "process where length(process.entry_leader.entry_meta.type) > 3",
	  "q:1:15: error: process.entry_leader.entry_meta.type: Kestrel tells "
	  "\"container\" (a pid namespace other than the host's) from the host's "
	  "sessions, not \"ssm\" from \"init\"" },
	{ "process where stringContains(process.name, process.entry_leader.entry_meta.type)",
	  "q:1:15: error: stringContains: process.entry_leader.entry_meta.type cannot "
	  "be compared with another field" },
	/* several semantic errors in one query are all reported */
	{ "process where process.name == \"a\" and process.pid == \"b\" and "
	  "process.nam == 1",
	  "q:1:54: error: cannot compare numeric field process.pid with a string\n"
	  "q:1:62: error: unknown field \"process.nam\" (did you mean \"process.name\"?)" },
};

static void test_reject(void **state)
{
	size_t i;
	char *out, *d;

	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		out = parse_fmt(rejects[i].q, &d);
		if (out || strcmp(d, rejects[i].diag))
			fprintf(stderr, "query: %s\n got: %s\nwant: %s\n",
				rejects[i].q, d, rejects[i].diag);
		assert_null(out);
		assert_string_equal(d, rejects[i].diag);
		free(d);
	}
}

/* Multi-line queries report the line and column inside the query. */
static void test_positions(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_query *q;
	char *d;

	q = ks_parse_query(rs, "process where\n  process.name == \"a\" and\n"
			   "  process.pid == \"x\"", (struct ks_loc){ "f.eql", 3, 5 });
	assert_null(q);
	d = ks_test_diag_text(&rs->diags);
	assert_string_equal(d, "f.eql:5:18: error: cannot compare numeric field "
			    "process.pid with a string");
	free(d);
	ks_ruleset_free(rs);
}

/* The printed diagnostic shows the source line and a caret. */
static void test_print(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *buf = NULL;
	size_t len;
	FILE *o;

	assert_int_equal(ks_ruleset_add_query(rs, "process where\tprocess.nme == 1",
					      "<cmdline>"), -1);
	o = open_memstream(&buf, &len);
	ks_diags_print(&rs->diags, o);
	fclose(o);
	assert_string_equal(buf,
		"<cmdline>:1:15: error: unknown field \"process.nme\" (did you mean "
		"\"process.name\"?)\n"
		"process where\tprocess.nme == 1\n"
		"             \t^\n");
	free(buf);
	ks_ruleset_free(rs);
}

static void test_inline(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	const struct ks_rule_src *r;

	assert_int_equal(ks_ruleset_add_query(rs, "process where process.pid == 1",
					      NULL), 0);
	assert_int_equal(rs->n_rules, 1);
	r = &rs->rules[0];
	assert_string_equal(r->id, "inline");
	assert_string_equal(r->name, "inline query");
	assert_int_equal(r->severity, KS_SEV_MEDIUM);
	assert_int_equal(r->action, KS_RA_ALERT);
	assert_non_null(r->q);
	assert_false(r->q->sequence);
	assert_int_equal(r->q->steps[0].category, KS_CAT_PROCESS);
	assert_int_equal(r->q->steps[0].runs, 1);
	assert_int_equal(r->q->steps[0].cond->kind, KS_N_NUM);
	assert_ptr_equal(r->q->steps[0].cond->field, ks_field_by_id(KS_F_PROCESS_PID));
	ks_ruleset_free(rs);
}

/* AST shapes the lowering relies on. */
static void test_ast(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_loc at = { "q", 1, 1 };
	struct ks_query *q;
	struct ks_node *n;
	char *text;

	q = ks_parse_query(rs, "network where source.ip == \"10.1.2.3\"", at);
	n = q->steps[0].cond;
	assert_int_equal(n->kind, KS_N_IP);
	assert_int_equal(n->n_nets, 1);
	assert_int_equal(n->nets[0].prefix, 128);
	assert_int_equal(n->nets[0].addr[10], 0xff);
	assert_int_equal(n->nets[0].addr[12], 10);
	assert_int_equal(n->nets[0].addr[15], 3);

	q = ks_parse_query(rs, "network where cidrMatch(source.ip, \"10.0.0.0/8\")", at);
	assert_int_equal(q->steps[0].cond->nets[0].prefix, 104);

	q = ks_parse_query(rs, "process where process.name : \"*ab*\"", at);
	n = q->steps[0].cond;
	assert_int_equal(n->kind, KS_N_STR);
	assert_int_equal(n->strop, KS_SO_CONTAINS);
	assert_int_equal(n->pats[0].len, 2);
	assert_memory_equal(n->pats[0].s, "ab", 2);
	assert_true(n->pats[0].ci);

	q = ks_parse_query(rs, "process where process.name like \"a*b\\*\"", at);
	n = q->steps[0].cond;
	assert_int_equal(n->strop, KS_SO_WILDCARD);
	assert_string_equal(n->pats[0].s, "a*b\\*");
	assert_false(n->pats[0].ci);

	q = ks_parse_query(rs, "process where process.pid in (1, 2, 2, 3)", at);
	n = q->steps[0].cond;
	assert_int_equal(n->kind, KS_N_NUM);
	assert_int_equal(n->cmp, KS_CMP_EQ);
	assert_int_equal(n->n_nums, 3);

	q = ks_parse_query(rs, "sequence by process.entity_id with maxspan=30s "
			   "[process where true] by process.pid [file where true] by "
			   "process.pid until [process where true] by process.pid", at);
	assert_true(q->sequence);
	assert_int_equal(q->maxspan_ns, 30000000000ull);
	assert_int_equal(q->n_join, 1);
	assert_int_equal(q->join[0]->id, KS_F_ENTITY_ID);
	assert_int_equal(q->n_steps, 2);
	assert_null(q->steps[0].cond);
	assert_int_equal(q->steps[1].category, KS_CAT_FILE);
	assert_int_equal(q->steps[1].n_join, 1);
	assert_non_null(q->until);
	assert_int_equal(q->until->n_join, 1);
	assert_int_equal(ks_diags_errors(&rs->diags), 0);

	/* a userspace join key is the catalogue's entry, marked for the NFA */
	q = ks_parse_query(rs, "sequence by user.name [process where true] by process.pid "
			   "[process where true] by process.working_directory", at);
	assert_non_null(q);
	assert_string_equal(q->join[0]->name, "user.name");
	assert_int_equal(q->join[0]->id, KS_F_NONE);
	assert_true(q->join[0]->join);
	assert_int_equal(q->steps[0].join[0]->id, KS_F_PROCESS_PID);
	assert_string_equal(q->steps[1].join[0]->name, "process.working_directory");
	assert_true(q->steps[1].join[0]->join);
	assert_int_equal(ks_diags_errors(&rs->diags), 0);

	/* ?name keys: a bit each, printed back with their ? */
	q = ks_parse_query(rs, "sequence by process.pid, ?user.name [process where true] "
			   "by ?process.name [process where true] by process.name", at);
	assert_non_null(q);
	assert_int_equal(q->join_opt, 0x2);
	assert_int_equal(q->steps[0].join_opt, 0x1);
	assert_int_equal(q->steps[1].join_opt, 0);
	text = ks_query_format(q);
	assert_non_null(strstr(text, "sequence by process.pid, ?user.name\n"));
	assert_non_null(strstr(text, "] by ?process.name\n"));
	free(text);
	assert_int_equal(ks_diags_errors(&rs->diags), 0);
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_ast),
	};

	return cmocka_run_group_tests_name("parser", tests, NULL, NULL);
}
