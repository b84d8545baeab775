// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference interpreter: events built in C, checked against EQL queries for
 * every operator, case folding, wildcards, array fields, null, CIDR and
 * numbers.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/capability.h>

#include <kestrel/rules.h>

/* ---- event builder ---- */

static void put(struct ks_event *ev, enum ks_field f, char *slot, size_t cap,
		const char *s, size_t len)
{
	if (len > cap)
		len = cap;
	memcpy(slot, s, len);
	ev->str[f].off = slot - (char *)ev;
	ev->str[f].len = len;
}

/* A sub-range of an already placed field (process.name, file.name, ...). */
static void sub(struct ks_event *ev, enum ks_field f, enum ks_field of,
		size_t off, size_t len)
{
	ev->str[f].off = ev->str[of].off + off;
	ev->str[f].len = len;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* process / exec: argv NULL-terminated */
static void ev_exec(struct ks_event *ev, const char *exe, const char *const *argv)
{
	char args[KS_ARGS_MAX];
	size_t n = 0, i;

	memset(ev, 0, sizeof(*ev));
	ev->category = KS_CAT_PROCESS;
	ev->action = KS_ACT_EXEC;
	ev->present = KS_P_PROCESS | KS_P_USER;
	ev->pid = 4242;
	ev->start_ns = 1767323045;
	ev->uid = 1000;
	ev->gid = 1000;
	put(ev, KS_F_PROCESS_EXECUTABLE, ev->exe, KS_PATH_MAX, exe, strlen(exe));
	put(ev, KS_F_PROCESS_NAME, ev->comm, KS_COMM_MAX - 1, base(exe),
	    strlen(base(exe)));
	for (i = 0; argv && argv[i]; i++) {
		memcpy(args + n, argv[i], strlen(argv[i]) + 1);
		n += strlen(argv[i]) + 1;
	}
	ev->args_count = i;
	put(ev, KS_F_PROCESS_ARGS, ev->args, KS_ARGS_MAX, args, n);
	ev->str[KS_F_PROCESS_COMMAND_LINE] = ev->str[KS_F_PROCESS_ARGS];
}

static void ev_parent(struct ks_event *ev, const char *pexe)
{
	ev->present |= KS_P_PARENT;
	ev->ppid = 1;
	ev->parent_start_ns = 7;
	put(ev, KS_F_PARENT_EXECUTABLE, ev->pexe, KS_PATH_MAX, pexe, strlen(pexe));
	put(ev, KS_F_PARENT_NAME, ev->pcomm, KS_COMM_MAX - 1, base(pexe),
	    strlen(base(pexe)));
}

static void ev_file(struct ks_event *ev, enum ks_action act, const char *path)
{
	const char *name = base(path), *dot = strrchr(name, '.');

	ev_exec(ev, "/usr/bin/touch", NULL);
	ev->category = KS_CAT_FILE;
	ev->action = act;
	ev->present |= KS_P_FILE;
	put(ev, KS_F_FILE_PATH, ev->path, KS_PATH_MAX, path, strlen(path));
	sub(ev, KS_F_FILE_NAME, KS_F_FILE_PATH, name - path, strlen(name));
	sub(ev, KS_F_FILE_EXTENSION, KS_F_FILE_PATH,
	    dot ? (size_t)(dot + 1 - path) : strlen(path),
	    dot ? strlen(dot + 1) : 0);
}

static void ip(uint8_t *a, const char *s)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a + 12) == 1)
		a[10] = a[11] = 0xff;
	else
		assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static void ev_net(struct ks_event *ev, enum ks_action act, const char *src,
		   int sport, const char *dst, int dport, int proto)
{
	ev_exec(ev, "/usr/bin/curl", NULL);
	ev->category = KS_CAT_NETWORK;
	ev->action = act;
	ev->present |= KS_P_NET;
	ip(ev->saddr, src);
	ip(ev->daddr, dst);
	ev->sport = sport;
	ev->dport = dport;
	ev->transport = proto;
}

/* ---- checking ---- */

static void check_ctx(const struct ks_event *ev, const char *query, bool want,
		      const struct ks_interp_ctx *ctx)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_query *q = ks_parse_query(rs, query, (struct ks_loc){ "q", 1, 1 });
	bool got;

	if (!q) {
		ks_diags_print(&rs->diags, stderr);
		fail_msg("does not parse: %s", query);
	}
	got = ks_interp_step_ctx(&q->steps[0], ev, ctx);
	if (got != want)
		fail_msg("%s: got %s, want %s", query, got ? "true" : "false",
			 want ? "true" : "false");
	ks_ruleset_free(rs);
}

static void check(const struct ks_event *ev, const char *query, bool want)
{
	check_ctx(ev, query, want, NULL);
}

#define T(q)	check(&ev, q, true)
#define F(q)	check(&ev, q, false)

static void test_strings(void **state)
{
	static const char *const argv[] = { "bash", "-c", "echo hi", NULL };
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/Bash", argv);
	/* == and in are case-sensitive */
	T("process where process.executable == \"/usr/bin/Bash\"");
	F("process where process.executable == \"/usr/bin/bash\"");
	T("process where process.name in (\"zsh\", \"Bash\")");
	F("process where process.name in (\"zsh\", \"bash\")");
	T("process where process.name in~ (\"zsh\", \"BASH\")");
	/* != is true on a different present value */
	T("process where process.name != \"bash\"");
	F("process where process.name != \"Bash\"");
	T("process where process.name not in (\"bash\", \"sh\")");
	F("process where process.name not in~ (\"bash\", \"sh\")");
	/* ':' is case-insensitive with wildcards */
	T("process where process.name : \"bash\"");
	T("process where process.executable : \"/USR/*\"");
	T("process where process.executable : \"*/bash\"");
	T("process where process.executable : \"*BIN*\"");
	T("process where process.executable : \"/usr/*/b?sh\"");
	F("process where process.executable : \"/usr/*/b?h\"");
	T("process where process.executable : (\"/nope\", \"*sh\")");
	T("process where process.executable : \"*\"");
	/* like is case-sensitive, like~ not */
	F("process where process.name like \"bash\"");
	T("process where process.name like \"B*h\"");
	F("process where process.name like \"b*h\"");
	T("process where process.name like~ \"b*H\"");
	/* functions */
	T("process where startsWith(process.executable, \"/usr/\")");
	F("process where startsWith(process.executable, \"/USR/\")");
	T("process where startsWith~(process.executable, \"/USR/\")");
	T("process where endsWith(process.executable, \"Bash\")");
	F("process where endsWith(process.executable, \"bash\")");
	T("process where endsWith~(process.executable, \"bash\")");
	T("process where stringContains(process.executable, \"bin/B\")");
	F("process where stringContains(process.executable, \"bin/b\")");
	T("process where stringContains~(process.executable, \"BIN/b\")");
	/* functions take their argument literally: no wildcards */
	F("process where startsWith(process.executable, \"/usr*\")");
	F("process where process.name == \"B*\"");
}

static void test_wildcard_escape(void **state)
{
	static const char *const argv[] = { "x", "a*b?c", NULL };
	struct ks_event ev;

	ev_exec(&ev, "/bin/x", argv);
	T("process where process.args : \"a\\*b\\?c\"");
	F("process where process.args : \"aX\\*b\\?c\"");
	T("process where process.args : \"a\\**\"");
	F("process where process.args : \"x\\*\"");
	T("process where process.args : \"*\\?c\"");
	T("process where process.args == \"a*b?c\"");
	T("process where stringContains(process.args, \"*b?\")");
}

static void test_args(void **state)
{
	static const char *const argv[] = { "curl", "-o", "/tmp/x",
					    "http://203.0.113.9/x", NULL };
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/curl", argv);
	/* any element */
	T("process where process.args == \"-o\"");
	T("process where process.args : \"HTTP://*\"");
	F("process where process.args == \"-o /tmp/x\"");
	T("process where startsWith(process.args, \"/tmp\")");
	F("process where process.args == \"curl -o\"");
	T("process where process.args != \"-x\"");
	F("process where process.args != \"-o\"");	/* some element is "-o" */
	/* the command line joins them with spaces */
	T("process where process.command_line == \"curl -o /tmp/x http://203.0.113.9/x\"");
	T("process where process.command_line : \"*-o /tmp/*\"");
	F("process where process.command_line : \"* \"");	/* no trailing space */
	T("process where process.args_count == 4");
	T("process where process.args_count > 3 and process.args_count < 5");
	/* no arguments at all: present, no element matches */
	ev_exec(&ev, "/bin/true", NULL);
	F("process where process.args : \"*\"");
	T("process where process.command_line == \"\"");
	T("process where process.args_count == 0");
}

static void test_null(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/bin/sh", NULL);	/* no parent, no exit code, no file */
	T("process where process.parent.name == null");
	F("process where process.parent.name != null");
	F("process where process.parent.name == \"init\"");
	F("process where process.parent.name != \"init\"");	/* null: false */
	T("process where not process.parent.name == \"init\"");
	F("process where process.parent.name : \"*\"");
	F("process where process.parent.name not in (\"a\")");
	F("process where process.parent.pid != 5");
	F("process where process.parent.pid not in (5, 6)");
	T("process where process.exit_code == null");
	F("process where process.exit_code == 0");
	F("process where process.exit_code != 0");
	T("process where file.path == null and source.ip == null");
	F("process where cidrMatch(source.ip, \"0.0.0.0/0\")");
	F("process where source.ip != \"1.2.3.4\"");
	T("process where process.name != null");
	ev_parent(&ev, "/sbin/init");
	F("process where process.parent.name == null");
	T("process where process.parent.name == \"init\"");
	T("process where process.parent.executable : \"/SBIN/*\"");
	T("process where process.parent.pid == 1");
}

/*
 * network.direction is null until a hook knows it (0), as the kernel reads
 * it (maps/ks_fields.h): a negated test on it is false, not true.
 */
static void test_direction_null(void **state)
{
	struct ks_event ev;

	ev_net(&ev, KS_ACT_CONNECT, "10.0.0.1", 4000, "10.0.0.2", 80, 6);
	T("network where network.direction == null");
	F("network where network.direction != \"ingress\"");
	F("network where network.direction == \"egress\"");
	T("network where network.transport == \"tcp\"");
	ev.direction = 2;
	F("network where network.direction == null");
	T("network where network.direction != \"ingress\"");
	T("network where network.direction == \"egress\"");
	ev.present &= ~KS_P_NET;	/* no address, port or protocol known */
	T("network where network.transport == null");
}

static void test_numeric(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/bin/sh", NULL);
	ev.action = KS_ACT_EXIT;
	ev.present |= KS_P_EXIT_CODE;
	ev.exit_code = -1;
	T("process where process.exit_code == -1");
	T("process where process.exit_code < 0");
	T("process where process.exit_code <= -1");
	F("process where process.exit_code > -1");
	T("process where process.exit_code >= -1");
	T("process where process.exit_code != 0");
	T("process where process.pid == 4242 and user.id == 1000 and group.id == 1000");
	T("process where user.id in (0, 1000)");
	F("process where user.id not in (0, 1000)");
	T("process where user.id not in (0, 1)");
	T("process where process.pid != 1");
	F("process where process.pid != 4242");
	/* numbers against unsigned values */
	ev.uid = 0xffffffffu;
	T("process where user.id == 4294967295");
	/* user.id == -1 can never hold: a compile error (test_parser) */
}

static void test_ip(void **state)
{
	struct ks_event ev;

	ev_net(&ev, KS_ACT_CONNECT, "10.1.2.3", 40000, "203.0.113.9", 443, 6);
	T("network where source.ip == \"10.1.2.3\"");
	F("network where source.ip == \"10.1.2.4\"");
	T("network where cidrMatch(source.ip, \"10.0.0.0/8\")");
	T("network where cidrMatch(source.ip, \"192.168.0.0/16\", \"10.1.2.0/24\")");
	F("network where cidrMatch(source.ip, \"10.1.3.0/24\")");
	T("network where cidrMatch(source.ip, \"10.1.2.3/32\")");
	T("network where cidrMatch(destination.ip, \"203.0.113.8/31\")");
	F("network where cidrMatch(destination.ip, \"203.0.113.10/31\")");
	T("network where cidrMatch(destination.ip, \"0.0.0.0/0\")");
	F("network where cidrMatch(destination.ip, \"::/1\") and "
	  "cidrMatch(destination.ip, \"fe80::/10\")");
	T("network where destination.ip in (\"1.1.1.1\", \"203.0.113.9\")");
	T("network where destination.ip != \"1.1.1.1\"");
	T("network where destination.port == 443 and source.port > 1024");
	T("network where destination.port in (80, 443)");
	T("network where network.transport == \"tcp\"");
	T("network where network.transport : \"TCP\"");
	F("network where network.transport == \"udp\"");
	T("network where network.transport == 6");
	ev_net(&ev, KS_ACT_ACCEPT, "fe80::1", 22, "2001:db8::5", 5555, 17);
	T("network where cidrMatch(source.ip, \"fe80::/10\")");
	F("network where cidrMatch(source.ip, \"10.0.0.0/8\")");
	T("network where destination.ip == \"2001:db8::5\"");
	T("network where cidrMatch(destination.ip, \"2001:db8::/32\")");
	T("network where network.transport in (\"udp\", \"icmp\")");
	T("network where event.action == \"accept\"");
}

static void test_enum_category(void **state)
{
	struct ks_event ev;

	ev_file(&ev, KS_ACT_CREATION, "/tmp/payload.tar.gz");
	T("file where event.action == \"creation\"");
	T("file where event.action : \"CREAT*\"");
	F("file where event.action == \"deletion\"");
	T("file where event.action != \"deletion\"");
	T("file where event.action in (\"rename\", \"creation\")");
	F("file where event.action not in (\"rename\", \"creation\")");
	T("any where event.category == \"file\"");
	T("file where startsWith(event.action, \"cre\")");
	/* the step's category */
	F("process where true");
	T("file where true");
	T("any where true");
	F("network where true");
	/* derived file fields */
	T("file where file.name == \"payload.tar.gz\"");
	T("file where file.extension == \"gz\"");
	T("file where file.path : \"/tmp/*\" and not file.name : \"*.log\"");
	F("file where file.target_path != null");
	ev_file(&ev, KS_ACT_CREATION, "/tmp/noext");
	T("file where file.extension == \"\"");
	F("file where file.extension : \"?*\"");

	memset(&ev, 0, sizeof(ev));
	ev.category = KS_CAT_NETWORK;
	ev.action = KS_ACT_PACKET;
	ev.present = KS_P_NET | KS_P_IFACE | KS_P_PAYLOAD;
	ev.direction = 1;
	put(&ev, KS_F_IFACE_NAME, ev.iface, KS_IFNAME_MAX, "veth0", 5);
	put(&ev, KS_F_PAYLOAD, ev.payload, KS_PAYLOAD_MAX,
	    "GET /admin HTTP/1.1\r\n\0\x01zz", 25);
	T("network where network.direction == \"ingress\"");
	F("network where network.direction == \"egress\"");
	T("network where observer.ingress.interface.name == \"veth0\"");
	T("network where payload : \"get /ADMIN*\"");
	T("network where stringContains(payload, \"\\r\\n\")");
	T("network where endsWith(payload, \"zz\")");	/* past a NUL byte */
	F("network where process.pid == 0");		/* no process: null */
}

static void test_entity_host(void **state)
{
	struct ks_event ev;
	char host[256] = "", *q;

	ev_exec(&ev, "/bin/sh", NULL);
	T("process where process.entity_id == \"4242-1767323045\"");
	F("process where process.entity_id == \"4242-1\"");
	T("process where process.parent.entity_id == null");
	ev_parent(&ev, "/sbin/init");
	T("process where process.parent.entity_id == \"1-7\"");
	gethostname(host, sizeof(host) - 1);
	if (asprintf(&q, "any where host.name == \"%s\"", host) < 0)
		fail();
	T(q);
	free(q);
	F("any where host.name == \"\"");
}

static bool user_str(void *arg, const struct ks_field_info *f,
		     const struct ks_event *ev, const char **s, size_t *len)
{
	if (!strcmp(f->name, "host.name")) {
		*s = "replayed-host";
	} else if (!strcmp(f->name, "process.parent.command_line")) {
		if (!(ev->present & KS_P_PARENT))
			return false;
		*s = "bash -i";
	} else if (!strcmp(f->name, "process.parent.args")) {
		*s = "bash\0-i";	/* elements NUL-separated */
		*len = 7;
		return true;
	} else if (!strcmp(f->name, "process.working_directory")) {
		*s = "/tmp/w";
	} else if (!strcmp(f->name, "process.parent.args_count")) {
		*s = ev->ppid == 2 ? "x2" : "2";	/* not digits: null */
	} else if (!strcmp(f->name, "process.env_vars")) {
		*s = "HISTSIZE=0\0LANG=C";
		*len = 17;
		return true;
	} else if (!strcmp(f->name, "process.interactive")) {
		*s = "true";	/* booleans: the text "true" or "false" */
	} else if (!strcmp(f->name, "process.parent.interactive")) {
		*s = "false";
	} else if (!strcmp(f->name, "process.session_leader.name")) {
		*s = "sshd";
	} else if (!strcmp(f->name, "process.parent.working_directory")) {
		*s = "/root";
	} else {
		return false;
	}
	*len = strlen(*s);
	return true;
}

/* A callback that keeps one buffer for every value, as kload's may. */
static bool shared_buf_str(void *arg, const struct ks_field_info *f,
			   const struct ks_event *ev, const char **s, size_t *len)
{
	static char buf[32];
	const char *v = !strcmp(f->name, "container.id") ? "abc-host" : "zzz";

	(void)arg;
	(void)ev;
	*len = strlen(v);
	memcpy(buf, v, *len);
	*s = buf;
	return true;
}

static void test_user_fields(void **state)
{
	struct ks_interp_ctx ctx = { .user_str = user_str };
	struct ks_event ev;

	ev_exec(&ev, "/bin/sh", NULL);
	check_ctx(&ev, "any where host.name == \"replayed-host\"", true, &ctx);
	check_ctx(&ev, "process where process.parent.command_line == null", true, &ctx);
	/* without a callback kload's process table is absent: null */
	ev_parent(&ev, "/bin/bash");
	T("process where process.parent.command_line == null");
	check_ctx(&ev, "process where process.parent.command_line : \"BASH -I\"",
		  true, &ctx);
	check_ctx(&ev, "process where process.parent.command_line != \"x\"",
		  true, &ctx);
	/* an array: any element; the whole value is no element */
	check_ctx(&ev, "process where process.parent.args == \"-i\"", true, &ctx);
	check_ctx(&ev, "process where process.parent.args : \"BASH\"", true, &ctx);
	check_ctx(&ev, "process where process.parent.args == \"bash -i\"", false, &ctx);
	check_ctx(&ev, "process where process.working_directory like \"/tmp/*\"", true, &ctx);
	/* null without kload (no record, no /proc read) */
	T("process where process.parent.args == null and "
	  "process.working_directory == null and user.name == null");
	ev.present &= ~KS_P_PARENT;	/* no parent: null even with a value */
	check_ctx(&ev, "process where process.parent.args == null", true, &ctx);
	/* a number kload gives as decimal text; an array of NAME=value */
	ev.present |= KS_P_PARENT;
	check_ctx(&ev, "process where process.parent.args_count == 2 and "
		  "process.parent.args_count >= 2 and "
		  "process.parent.args_count in (1, 2)", true, &ctx);
	check_ctx(&ev, "process where process.parent.args_count < 2 or "
		  "process.parent.args_count == null", false, &ctx);
	check_ctx(&ev, "process where modulo(process.parent.args_count, 2) == 0",
		  true, &ctx);
	check_ctx(&ev, "process where process.env_vars like~ \"histsize=0\" and "
		  "process.env_vars == \"LANG=C\"", true, &ctx);
	check_ctx(&ev, "process where process.env_vars : \"HISTSIZE=0*LANG*\"", false, &ctx);
	T("process where process.parent.args_count == null and process.env_vars == null");
	ev.ppid = 2;
	check_ctx(&ev, "process where process.parent.args_count == null", true, &ctx);
	ev.ppid = 1;
	ev.present &= ~(KS_P_PARENT | KS_P_PROCESS);
	check_ctx(&ev, "any where process.parent.args_count == null and "
		  "process.env_vars == null", true, &ctx);
	/* booleans, the leaders' names, the parent's directory */
	ev.present |= KS_P_PARENT | KS_P_PROCESS;
	check_ctx(&ev, "process where process.interactive == true and "
		  "process.parent.interactive == false and "
		  "process.parent.interactive != true and "
		  "process.interactive in (true, false) and process.interactive : true",
		  true, &ctx);
	check_ctx(&ev, "process where process.interactive == false or "
		  "process.parent.interactive == true or process.interactive == null",
		  false, &ctx);
	check_ctx(&ev, "process where process.session_leader.name == \"sshd\" and "
		  "process.group_leader.name == null and "
		  "process.parent.working_directory like \"/root*\"", true, &ctx);
	ev.present &= ~KS_P_PARENT;	/* no parent: its fields are null */
	check_ctx(&ev, "process where process.parent.interactive == null and "
		  "process.parent.working_directory == null and "
		  "not process.parent.interactive == false", true, &ctx);
	ev.present |= KS_P_PARENT;
	/* two of them in one test: the first outlives the second read */
	ctx.user_str = shared_buf_str;
	check_ctx(&ev, "any where startsWith(container.id, host.name)", false, &ctx);
	check_ctx(&ev, "any where endsWith(container.id, host.name)", false, &ctx);
	check_ctx(&ev, "any where stringContains(host.name, host.name)", true, &ctx);
}

/*
 * The capability sets: a test is true if the set holds any value tested,
 * != and not in if it holds none; an empty set is null (Defend's []).
 */
static void test_capabilities(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/gdb", NULL);
	ev.cap_effective = 1ull << CAP_SETUID | 1ull << CAP_SYS_PTRACE;
	ev.cap_permitted = ev.cap_effective | 1ull << CAP_CHECKPOINT_RESTORE;
	T("process where process.thread.capabilities.effective : \"CAP_SYS_PTRACE\"");
	T("process where process.thread.capabilities.effective : \"cap_set?id\"");
	T("process where process.thread.capabilities.effective in (\"CAP_CHOWN\", \"CAP_SETUID\")");
	T("process where process.thread.capabilities.permitted == \"CAP_CHECKPOINT_RESTORE\"");
	F("process where process.thread.capabilities.effective == \"CAP_CHECKPOINT_RESTORE\"");
	F("process where process.thread.capabilities.effective : (\"CAP_CHOWN\", \"CAP_FOWNER\")");
	/* != : holds none of them */
	F("process where process.thread.capabilities.effective != \"CAP_SETUID\"");
	T("process where process.thread.capabilities.effective != \"CAP_CHOWN\"");
	F("process where process.thread.capabilities.effective not in (\"CAP_CHOWN\", \"CAP_SETUID\")");
	T("process where process.thread.capabilities.effective not in (\"CAP_CHOWN\", \"CAP_BPF\")");
	T("process where startsWith(process.thread.capabilities.effective, \"CAP_SYS_\")");
	F("process where process.thread.capabilities.effective == null");
	/* empty: null, so every test but == null is false */
	ev.cap_effective = 0;
	T("process where process.thread.capabilities.effective == null");
	F("process where process.thread.capabilities.effective != \"CAP_CHOWN\"");
	F("process where process.thread.capabilities.effective not in (\"CAP_CHOWN\", \"CAP_BPF\")");
	F("process where process.thread.capabilities.effective : \"*\"");
}

/* data_stream.dataset: Elastic Defend's name of the event's category. */
static void test_dataset(void **state)
{
	struct ks_event ev;

	ev_file(&ev, KS_ACT_CREATION, "/tmp/a.sh");
	T("any where data_stream.dataset == \"endpoint.events.file\"");
	T("any where data_stream.dataset : \"ENDPOINT.events.f*\"");
	T("any where data_stream.dataset in (\"auditd_manager.auditd\", "
	  "\"endpoint.events.file\")");
	T("any where data_stream.dataset != \"network_traffic.http\"");
	F("any where data_stream.dataset == \"endpoint.events.process\"");
	F("any where data_stream.dataset == null");
	ev_exec(&ev, "/bin/sh", NULL);
	T("process where data_stream.dataset == \"endpoint.events.process\"");
	F("any where data_stream.dataset not in (\"endpoint.events.process\", "
	  "\"system.auth\")");
}

/*
 * process.entry_leader.entry_meta.type: "container" in a pid namespace
 * other than the host's, one of the host's kinds in the host's, null
 * while the namespace is unknown (0) or there is no process.
 */
static void test_entry_meta(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/bin/mount", NULL);
	ev.pid_ns = 0xf0000123;
	T("process where process.entry_leader.entry_meta.type == \"container\"");
	T("process where process.entry_leader.entry_meta.type : \"CONTAINER\"");
	F("process where process.entry_leader.entry_meta.type != \"container\"");
	F("process where process.entry_leader.entry_meta.type in (\"init\", \"sshd\", "
	  "\"ssm\", \"kubelet\", \"teleport\", \"terminal\", \"console\", \"unknown\")");
	F("process where process.entry_leader.entry_meta.type == null");
	ev.pid_ns = KS_PID_NS_HOST;
	F("process where process.entry_leader.entry_meta.type == \"container\"");
	T("process where process.entry_leader.entry_meta.type != \"container\"");
	T("process where process.entry_leader.entry_meta.type like \"*\"");
	F("process where process.entry_leader.entry_meta.type == null");
	ev.pid_ns = 0;
	F("process where process.entry_leader.entry_meta.type == \"container\"");
	F("process where process.entry_leader.entry_meta.type != \"container\"");
	T("process where process.entry_leader.entry_meta.type == null");
	ev.pid_ns = 0xf0000123;
	ev.present &= ~KS_P_PROCESS;
	T("process where process.entry_leader.entry_meta.type == null");
	F("process where process.entry_leader.entry_meta.type : \"*\"");
}

/* Effective and real ids: a setuid-root exec by uid 1000 under a uid 1000 shell. */
static void test_cred_fields(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/passwd", NULL);
	ev.euid = 0;
	ev.egid = 1000;
	ev.peuid = 1000;
	ev.pegid = 1000;
	ev.present |= KS_P_EUID | KS_P_EGID | KS_P_PEUID | KS_P_PEGID;
	T("process where process.user.id == \"0\" and process.real_user.id != \"0\" and "
	  "process.parent.user.id != \"0\"");
	T("process where user.effective.id == 0 and user.Ext.real.id == 1000 and "
	  "group.Ext.real.id == 1000 and process.real_group.id == 1000");
	F("process where process.group.id == 0 or process.parent.group.id == 0");
	/* each with its own presence: not known is null */
	ev.present &= ~(KS_P_EUID | KS_P_PEGID);
	T("process where process.user.id == null and process.parent.group.id == null and "
	  "process.group.id == 1000 and process.parent.user.id == 1000");
	F("process where process.user.id != 5");
}

/* host.id is /etc/machine-id without a callback; host.os.type "linux". */
static void test_host_fields(void **state)
{
	struct ks_event ev;
	char id[64] = "", *q;
	FILE *f = fopen("/etc/machine-id", "r");

	ev_exec(&ev, "/bin/sh", NULL);
	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = 0;
		fclose(f);
	}
	id[strcspn(id, "\n")] = 0;
	if (asprintf(&q, "any where host.id == \"%s\"", id) < 0)
		fail();
	if (id[0])
		T(q);
	else
		T("any where host.id == null");
	free(q);
	F("any where host.id == \"not-a-machine-id\"");
	T("any where host.os.type == \"linux\"");
	T("any where startsWith(host.os.type, \"lin\")");
}

/* agent.id without a callback: a version 4 UUID drawn once, the same at every read. */
static void test_agent_id(void **state)
{
	const struct ks_field_info *a = ks_field_lookup("agent.id");
	const char *s, *again;
	size_t len, i;

	assert_non_null(a);
	assert_true(ks_interp_user_default(a, &s, &len));
	assert_int_equal(len, 36);
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", s[i]));
	}
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
	assert_true(ks_interp_user_default(a, &again, &len));
	assert_string_equal(again, s);
}

/* The matcher directly, on nodes built by hand: backtracking cases. */
static bool wild(const char *pat, const char *val, bool ci)
{
	struct ks_strpat p = { (char *)pat, strlen(pat), ci };
	struct ks_node n = {
		.kind = KS_N_STR, .field = ks_field_lookup("process.executable"),
		.strop = KS_SO_WILDCARD, .pats = &p, .n_pats = 1,
	};
	struct ks_event ev;

	ev_exec(&ev, val, NULL);
	return ks_interp_node(&n, &ev);
}

static void test_wildcard_matcher(void **state)
{
	assert_true(wild("*a*b*c", "xxaxxbxxbxxc", false));
	assert_false(wild("*a*b*c", "xxaxxbxxbxxcx", false));
	assert_true(wild("a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false));
	assert_false(wild("a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false));
	assert_true(wild("?*?", "ab", false));
	assert_false(wild("?*?", "a", false));
	assert_true(wild("*", "", false) || true);	/* exe "" is valid */
	assert_true(wild("A?C", "abc", true));
	assert_false(wild("A?C", "abc", false));
	assert_true(wild("a\\*c", "a*c", false));
	assert_false(wild("a\\*c", "abc", false));
	assert_true(wild("a\\\\c", "a\\c", false));
	assert_true(wild("**x**", "x", false));
	assert_true(wild("/usr/*/python?.*", "/usr/local/python3.11", false));
}

/* A ruleset of one process_creation Sigma rule per detection given. */
static struct ks_ruleset *sigma_rules(const char *const *detections, size_t n)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *text;
	size_t i;

	for (i = 0; i < n; i++) {
		if (asprintf(&text, "title: t%zu\n"
			     "logsource: {product: linux, category: process_creation}\n"
			     "detection:\n%s", i, detections[i]) < 0)
			fail();
		assert_int_equal(ks_ruleset_load_string(rs, text, "re.yml"), 0);
		free(text);
	}
	return rs;
}

/* Sigma |re: POSIX ERE evaluated by the interpreter. */
static void test_regex(void **state)
{
	static const char *const argv[] = { "wget", "-O", "/tmp/x", NULL };
	static const char *const det[] = {
		"  sel:\n"
		"    CommandLine|re: '(?:\\s-O\\s|--output-document)'\n"
		"  ci:\n"
		"    CommandLine|re|i: 'WGET'\n"
		"  condition: sel and ci\n",
	};
	struct ks_ruleset *rs = sigma_rules(det, 1);
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/wget", argv);
	assert_true(ks_interp_step(&rs->rules[0].q->steps[0], &ev));
	ev.comm[0] = 'X';	/* not part of the command line */
	ev.args[5] = 'o';	/* "-o": the regex is case-sensitive */
	assert_false(ks_interp_step(&rs->rules[0].q->steps[0], &ev));
	ks_ruleset_free(rs);
}

/* Sigma's |re is PCRE: '.' matches a newline only with |s. */
static void test_regex_newline(void **state)
{
	static const char *const argv[] = { "sh", "-c", "a\nb", NULL };
	static const char *const det[] = {
		"  sel:\n    CommandLine|re: 'c a.b$'\n  condition: sel\n",
		"  sel:\n    CommandLine|re|s: 'c a.b$'\n  condition: sel\n",
	};
	struct ks_ruleset *rs = sigma_rules(det, 2);
	struct ks_event ev;

	ev_exec(&ev, "/bin/sh", argv);
	assert_false(ks_interp_step(&rs->rules[0].q->steps[0], &ev));
	assert_true(ks_interp_step(&rs->rules[1].q->steps[0], &ev));
	ks_ruleset_free(rs);
}

/*
 * EQL's regex operator (Elastic's): PCRE2 over the whole value, '.' any
 * byte (a newline too), regex~ case-insensitive, a list any-of, and a
 * raw """string""" keeps its backslashes.
 */
static void test_eql_regex(void **state)
{
	static const char *const argv[] = { "nc", "-lvp", "4444\nx", NULL };
	struct ks_event ev;

	ev_exec(&ev, "/var/run/Evil.pid", argv);
	T("process where process.executable regex \"/var/run/\\\\w+\\\\.(pid|lock)\"");
	T("process where process.executable regex \"\"\"/var/run/\\w+\\.(pid|lock)\"\"\"");
	/* the whole value: a match inside it is not enough */
	F("process where process.executable regex \"run/\\\\w+\"");
	F("process where process.executable regex \"/var/run\"");
	T("process where process.executable regex \".*run.*\"");
	/* case */
	F("process where process.executable regex \"/var/run/evil.pid\"");
	T("process where process.executable regex~ \"/VAR/run/evil.pid\"");
	/* any of a list; arrays match on any element */
	T("process where process.executable regex (\"x\", \"/var/.*\")");
	T("process where process.args regex \"-[a-z]*p\"");
	F("process where process.args regex \"-[a-z]*q\"");
	/* '.' matches a newline (Lucene's any character) */
	T("process where process.args regex \"4444.x\"");
	/* null: false, negated too */
	F("process where process.parent.name regex \".*\"");
	ev_parent(&ev, "/bin/bash");
	T("process where process.parent.name regex \"ba.h\"");
}

/*
 * A value built to exhaust PCRE2 ((.*a){20} over 500 a's and an x has
 * ~10^30 ways to fail) is unsure, not "no match": the rule fires, under
 * "not" too, unless the rest of the condition decides, and the count of
 * undecided values grows. Before, PCRE2's give-up read as "no match" and
 * such a command line slipped past the rule.
 */
static void test_eql_regex_unsure(void **state)
{
	static char tail[502];
	static const char *const argv[] = { "sh", "-c", tail, NULL };
	uint64_t before = ks_regex_undecided();
	struct ks_event ev;

	memset(tail, 'a', 500);
	tail[500] = 'x';
	ev_exec(&ev, "/bin/sh", argv);
#define RE "process.command_line regex \"(.*a){20}\""
	T("process where " RE);
	T("process where not " RE);
	T("process where " RE " or process.pid == 1");
	F("process where " RE " and process.pid == 1");
	T("process where process.pid == 4242 and not " RE);
	T("process where process.command_line regex (\"(.*a){20}\", \"sh.*x\")");
	assert_true(ks_regex_undecided() >= before + 5);
	/* values PCRE2 decides: exact again */
	before = ks_regex_undecided();
	tail[30] = 0;	/* 30 a's */
	ev_exec(&ev, "/bin/sh", argv);
	T("process where process.command_line regex \"(.*a){2}\"");
	F("process where not process.command_line regex \"(.*a){2}\"");
	tail[5] = 'x';	/* 5 a's, x */
	tail[6] = 0;
	ev_exec(&ev, "/bin/sh", argv);
	F("process where " RE);
	T("process where not " RE);
#undef RE
	assert_true(ks_regex_undecided() == before);
}

/* An executable cut on the left: head "/very/long", tail "/bin/tool". */
static void cut_exe(struct ks_event *ev)
{
	static const char head[] = "/very/long", tail[] = "/bin/tool";
	size_t tl = strlen(tail);

	memcpy(ev->exe, head, strlen(head));
	memcpy(ev->exe + KS_PATH_MAX - tl, tail, tl);
	ev->str[KS_F_PROCESS_EXECUTABLE].off = ev->exe + KS_PATH_MAX - tl - (char *)ev;
	ev->str[KS_F_PROCESS_EXECUTABLE].len = tl;
	ev->cut_head[KS_PATH_IDX(KS_F_PROCESS_EXECUTABLE)] = strlen(head);
	ev->truncated |= 1u << KS_F_PROCESS_EXECUTABLE;
}

/* An exec whose argument vector (and so command line) was cut. */
static void ev_exec_cut(struct ks_event *ev, const char *exe,
			const char *const *argv)
{
	ev_exec(ev, exe, argv);
	ev->truncated |= 1u << KS_F_PROCESS_ARGS;
}

/*
 * startsWith/endsWith/stringContains of one field by another (Elastic's);
 * values the event holds only in part decide only what they show.
 */
static void test_two_fields(void **state)
{
	static const char *const alone[] = { "/usr/bin/id", NULL };
	static const char *const with[] = { "/usr/bin/id", "-u", NULL };
	static const char *const cased[] = { "tool", NULL };
	static const char *const very[] = { "/very", NULL };
	static const char *const longer[] = { "/very/long/path", NULL };
	struct ks_event ev;

	ev_exec(&ev, "/usr/bin/id", alone);
	T("process where startsWith(process.executable, process.command_line)");
	T("process where endsWith(process.executable, process.name)");
	T("process where stringContains(process.executable, process.name)");
	ev_exec(&ev, "/usr/bin/id", with);
	F("process where startsWith(process.executable, process.command_line)");
	T("process where startsWith(process.command_line, process.executable)");
	F("process where endsWith(process.command_line, process.name)");
	T("process where stringContains(process.command_line, process.name)");
	/* case: exact unless ~ */
	ev_exec(&ev, "/opt/Tool", cased);
	F("process where startsWith(process.name, process.command_line)");
	T("process where startsWith~(process.name, process.command_line)");
	F("process where stringContains(process.executable, process.command_line)");
	T("process where stringContains~(process.executable, process.command_line)");
	/* null: false; only an explicit not inverts it */
	F("process where stringContains(process.command_line, process.parent.name)");
	T("process where not stringContains(process.command_line, process.parent.name)");
	F("process where startsWith(process.parent.name, process.name)");
	ev_parent(&ev, "/usr/bin/tool-runner");
	T("process where startsWith~(process.parent.name, process.name)");
	/* a cut command line keeps its start */
	ev_exec_cut(&ev, "/usr/bin/id", alone);
	T("process where startsWith(process.command_line, process.executable)");
	T("process where stringContains(process.command_line, process.name)");
	F("process where endsWith(process.command_line, process.name)");
	/* the whole of a cut operand is unknown: never certain */
	F("process where startsWith(process.executable, process.command_line)");
	F("process where stringContains(process.executable, process.command_line)");
	/* a cut path: prefixes against its head, suffixes against its tail */
	ev_exec(&ev, "/x", very);
	cut_exe(&ev);
	T("process where startsWith(process.executable, process.command_line)");
	T("process where stringContains(process.executable, process.command_line)");
	ev_exec(&ev, "/x", longer);
	cut_exe(&ev);
	F("process where startsWith(process.executable, process.command_line)");
	ev_parent(&ev, "/usr/bin/tool");
	T("process where endsWith(process.executable, process.parent.name)");
	T("process where stringContains(process.executable, process.parent.name)");
	/* process.name comes from the cut executable: not whole either */
	F("process where endsWith(process.executable, process.name)");
}

/* length(): UTF-16 code units of the value as kload writes it. */
static const char *const len_ascii[] = { "echo", "hi", NULL };
static const char *const len_accent[] = { "echo", "h\xc3\xa9", NULL };
/* a code point above U+FFFF is two UTF-16 units */
static const char *const len_astral[] = { "\xf0\x9f\x98\x80", NULL };
/* a byte that starts nothing, then a cut sequence: two U+FFFD */
static const char *const len_broken[] = { "\xff\xe2\x82", NULL };

static const struct {
	const char *const *argv;
	bool cut;	/* the command line held only in part */
	const char *q;
	bool want;
} len_cases[] = {
	{ len_ascii, false, "length(process.command_line) == 7", true },
	{ len_ascii, false, "length(process.name) < 5 and length(process.name) >= 4", true },
	{ len_accent, false, "length(process.command_line) == 7", true },
	{ len_astral, false, "length(process.command_line) == 2", true },
	{ len_broken, false, "length(process.command_line) == 2", true },
	/* null; only an explicit not inverts it */
	{ len_ascii, false, "length(process.parent.name) > -1", false },
	{ len_ascii, false, "not length(process.parent.name) > -1", true },
	/* cut: at least as long as what is kept (7), nothing else known */
	{ len_ascii, true, "length(process.command_line) > 6", true },
	{ len_ascii, true, "length(process.command_line) >= 7", true },
	{ len_ascii, true, "length(process.command_line) != 6", true },
	{ len_ascii, true, "length(process.command_line) > 7", false },
	{ len_ascii, true, "length(process.command_line) != 7", false },
	{ len_ascii, true, "length(process.command_line) < 100", false },
	{ len_ascii, true, "length(process.command_line) == 7", false },
};

static void test_length(void **state)
{
	struct ks_event ev;
	char q[160];
	size_t i;

	for (i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		ev_exec(&ev, "/bin/echo", len_cases[i].argv);
		if (len_cases[i].cut)
			ev.truncated |= 1u << KS_F_PROCESS_ARGS;
		snprintf(q, sizeof(q), "process where %s", len_cases[i].q);
		check(&ev, q, len_cases[i].want);
	}
	/* a cut path: its head (10) or its tail (9), whichever is longer */
	cut_exe(&ev);
	T("process where length(process.executable) > 9");
	F("process where length(process.executable) > 10");
}

/* modulo(): Elastic's remainder (the sign of the dividend) */
static void test_modulo(void **state)
{
	struct ks_event ev;

	ev_exec(&ev, "/bin/id", NULL);
	ev.uid = 65536;		/* Sysmon for Linux's LogonId 0 */
	T("process where modulo(user.id, 65536) == 0");
	F("process where modulo(user.id, 65536) != 0");
	ev.uid = 65537;
	T("process where modulo(user.id, 65536) == 1");
	T("process where modulo(user.id, -65536) == 1");
	T("process where modulo(user.id, 2) > 0 and modulo(user.id, 10) == 7");
	ev.exit_code = -7;
	ev.present |= KS_P_EXIT_CODE;
	T("process where modulo(process.exit_code, 5) == -2");
	T("process where modulo(process.exit_code, -1) == 0");
	/* null: false */
	F("process where modulo(process.parent.pid, 2) >= 0");
	T("process where not modulo(process.parent.pid, 2) >= 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_wildcard_escape),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_direction_null),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_enum_category),
		cmocka_unit_test(test_entity_host),
		cmocka_unit_test(test_user_fields),
		cmocka_unit_test(test_host_fields),
		cmocka_unit_test(test_agent_id),
		cmocka_unit_test(test_cred_fields),
		cmocka_unit_test(test_dataset),
		cmocka_unit_test(test_entry_meta),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_wildcard_matcher),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_eql_regex_unsure),
		cmocka_unit_test(test_regex_newline),
		cmocka_unit_test(test_eql_regex),
		cmocka_unit_test(test_two_fields),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_modulo),
	};

	return cmocka_run_group_tests_name("interp", tests, NULL, NULL);
}
