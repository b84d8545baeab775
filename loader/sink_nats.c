// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nats://HOST:PORT[,HOST:PORT...]/SUBJECT: each alert is published to
 * NATS JetStream (libnats) and counts as delivered only once the stream
 * acknowledged it. Headers: Kestrel-Rule-Id (the rule), Nats-Msg-Id (host,
 * kload pid and start, alert number) so that an alert sent again after a
 * lost acknowledgement is stored once (JetStream's duplicate window).
 *
 * The stream is the operator's (its subjects, replicas, retention): kload
 * does not create it; without one, publishing fails with "no responders",
 * the alerts wait in the queue and the error counter says why.
 *
 * libnats reconnects by itself (any server of the list, forever). While it
 * is not connected nothing is published: alerts wait in the bounded queue
 * (sink.c) instead of in libnats' reconnect buffer, so what cannot wait is
 * counted as lost (queue_full), never dropped unseen.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "kestrel/log.h"
#include "sink_int.h"

#define KS_NATS_SERVERS_MAX	8
#define KS_NATS_ACK_WAIT_MS	2000
#define KS_NATS_TIMEOUT_MS	2000

/*
 * libnats, and OpenSSL through it (1.9 MiB resident in every kload), is
 * loaded when a nats:// output is configured, not linked into kload.
 */
#define KS_NATS_LIB	"libnats.so.3.4"

#define KS_NATS_FNS(X)							\
	X(jsCtx_Destroy)	\
	X(jsPubAck_Destroy)	\
	X(jsPubOptions_Init)	\
	X(js_PublishMsg)	\
	X(natsConnection_Connect)	\
	X(natsConnection_Destroy)	\
	X(natsConnection_IsClosed)	\
	X(natsConnection_JetStream)	\
	X(natsConnection_Status)	\
	X(natsMsgHeader_Set)	\
	X(natsMsg_Create)	\
	X(natsMsg_Destroy)	\
	X(natsOptions_Create)	\
	X(natsOptions_Destroy)	\
	X(natsOptions_SetMaxReconnect)	\
	X(natsOptions_SetName)	\
	X(natsOptions_SetReconnectWait)	\
	X(natsOptions_SetServers)	\
	X(natsOptions_SetTimeout)	\
	X(natsStatus_GetText)

static struct {
#define X(f) __typeof__(f) *f;
	KS_NATS_FNS(X)
#undef X
} ks_nats;

static int ks_nats_load(char *why, size_t len)
{
	static void *lib;
	void *h;

	if (lib)
		return 0;
	h = dlopen(KS_NATS_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, len, "nats:// needs %s (Debian package libnats3.4): %s",
			 KS_NATS_LIB, dlerror());
		return -ENOENT;
	}
#define X(f)								\
	ks_nats.f = (__typeof__(f) *)dlsym(h, #f);			\
	if (!ks_nats.f) {						\
		snprintf(why, len, "%s has no %s", KS_NATS_LIB, #f);	\
		dlclose(h);						\
		return -ENOENT;						\
	}
	KS_NATS_FNS(X)
#undef X
	lib = h;
	return 0;
}

struct nats_sink {
	char *servers[KS_NATS_SERVERS_MAX];
	int n_servers;
	char *subject;
	unsigned long long start_ns;	/* with the pid: this run, in ids */
	natsConnection *nc;
	jsCtx *js;
};

static int add_server(struct nats_sink *n, const char *hp, size_t len)
{
	if (!len || n->n_servers == KS_NATS_SERVERS_MAX)
		return -EINVAL;
	if (asprintf(&n->servers[n->n_servers], "nats://%.*s", (int)len, hp) < 0)
		return -ENOMEM;
	n->n_servers++;
	return 0;
}

static bool subject_ok(const char *s)
{
	/* tokens separated by '.', no wildcards, no white space */
	return *s && s[strlen(s) - 1] != '.' && *s != '.' && !strstr(s, "..") &&
	       !s[strcspn(s, " \t\r\n*>")];
}

static int nats_parse(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	struct nats_sink *n = calloc(1, sizeof(*n));
	const char *slash = strchr(rest, '/'), *p;
	struct timespec ts;
	int err = 0;

	if (!n)
		return -ENOMEM;
	s->priv = n;
	if (!slash || !subject_ok(slash + 1)) {
		snprintf(why, len, "nats:// takes HOST:PORT[,HOST:PORT...]/SUBJECT with a subject "
			 "without wildcards (nats://127.0.0.1:4222/kestrel.alerts)");
		return -EINVAL;
	}
	for (p = rest; !err && p < slash; ) {
		size_t l = strcspn(p, ",/");

		err = add_server(n, p, l);
		p += l + 1;
	}
	if (err || !n->n_servers) {
		err = err ?: -EINVAL;
		snprintf(why, len, "nats:// takes 1 to %d servers, HOST:PORT each",
			 KS_NATS_SERVERS_MAX);
		return err;
	}
	err = ks_nats_load(why, len);
	if (err)
		return err;
	n->subject = strdup(slash + 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	n->start_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	return n->subject ? 0 : -ENOMEM;
}

static int nats_errno(natsStatus st)
{
	switch (st) {
	case NATS_TIMEOUT:
		return -ETIMEDOUT;
	case NATS_NO_SERVER:
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_NOT_YET_CONNECTED:
		return -ENOTCONN;
	case NATS_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void nats_close(struct ks_sink *s);

static int nats_open(struct ks_sink *s)
{
	struct nats_sink *n = s->priv;
	natsOptions *o = NULL;
	natsStatus st;

	if (n->nc)
		return 0;	/* libnats is reconnecting it */
	st = ks_nats.natsOptions_Create(&o);
	if (st == NATS_OK)
		st = ks_nats.natsOptions_SetServers(o, (const char **)n->servers, n->n_servers);
	if (st == NATS_OK)
		st = ks_nats.natsOptions_SetName(o, "kestrel");
	if (st == NATS_OK)
		st = ks_nats.natsOptions_SetTimeout(o, KS_NATS_TIMEOUT_MS);
	if (st == NATS_OK)
		st = ks_nats.natsOptions_SetMaxReconnect(o, -1);
	if (st == NATS_OK)
		st = ks_nats.natsOptions_SetReconnectWait(o, 250);
	if (st == NATS_OK)
		st = ks_nats.natsConnection_Connect(&n->nc, o);
	if (st == NATS_OK)
		st = ks_nats.natsConnection_JetStream(&n->js, n->nc, NULL);
	ks_nats.natsOptions_Destroy(o);
	if (st != NATS_OK) {
		snprintf(s->err_text, sizeof(s->err_text), "%s", ks_nats.natsStatus_GetText(st));
		nats_close(s);
		n->nc = NULL;
		return nats_errno(st);
	}
	return 0;
}

/* A URI refused by parse is freed before open loaded libnats: then there
 * are no handles, and no function pointers to call. */
static void nats_drop(struct nats_sink *n)
{
	if (n->js)
		ks_nats.jsCtx_Destroy(n->js);
	if (n->nc)
		ks_nats.natsConnection_Destroy(n->nc);
	n->js = NULL;
	n->nc = NULL;
}

static void nats_close(struct ks_sink *s)
{
	struct nats_sink *n = s->priv;

	/* a connection libnats still reconnects is kept; a closed one goes */
	if (n->nc && !ks_nats.natsConnection_IsClosed(n->nc) && !ks_sink_stopping(s))
		return;
	nats_drop(n);
}

static natsStatus publish(struct ks_sink *s, const struct ks_line *l, jsErrCode *jerr)
{
	struct nats_sink *n = s->priv;
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	jsPubOptions po;
	char id[320];
	natsStatus st;

	snprintf(id, sizeof(id), "%s-%d-%llu-%llu", ks_sink_hostname(), (int)getpid(),
		 n->start_ns, (unsigned long long)l->seq);
	ks_nats.jsPubOptions_Init(&po);
	po.MaxWait = KS_NATS_ACK_WAIT_MS;
	po.MsgId = id;
	st = ks_nats.natsMsg_Create(&m, n->subject, NULL, l->text, l->len - 1);
	if (st == NATS_OK && l->rule[0])
		st = ks_nats.natsMsgHeader_Set(m, "Kestrel-Rule-Id", l->rule);
	if (st == NATS_OK)
		st = ks_nats.js_PublishMsg(&pa, n->js, m, &po, jerr);
	ks_nats.jsPubAck_Destroy(pa);
	ks_nats.natsMsg_Destroy(m);
	return st;
}

/* The server's 503 answers: JetStream is starting, stopping or has no
 * quorum (a restart answers JSNotEnabledErr for a moment before the
 * stream is back). The alert waits in the queue and is sent again; the
 * message id keeps a resend that did land from being stored twice. */
static bool js_unavailable(jsErrCode e)
{
	return e == JSNotEnabledErr || e == JSNotEnabledForAccountErr ||
	       e == JSClusterNotAvailErr || e == JSInsufficientResourcesErr;
}

static int nats_send(struct ks_sink *s, const struct ks_line *l, enum ks_sink_err *why)
{
	struct nats_sink *n = s->priv;
	jsErrCode jerr = 0;
	natsStatus st;

	if (ks_nats.natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
		snprintf(s->err_text, sizeof(s->err_text), "not connected to any server");
		*why = KS_SERR_CONNECT;
		return -ENOTCONN;
	}
	st = publish(s, l, &jerr);
	if (st == NATS_OK)
		return 0;
	if (jerr && js_unavailable(jerr)) {
		snprintf(s->err_text, sizeof(s->err_text), "JetStream unavailable (error %d)",
			 (int)jerr);
		*why = KS_SERR_ACK;
		return -EAGAIN;
	}
	if (jerr) {	/* the stream refused this alert: sending it again cannot help */
		pr_warn("kload: output %s: JetStream refused an alert (error %d): lost\n",
			s->name, (int)jerr);
		return KS_SINK_LOST;
	}
	snprintf(s->err_text, sizeof(s->err_text), "%s%s", ks_nats.natsStatus_GetText(st),
		 st == NATS_NO_RESPONDERS ? " (no JetStream stream takes this subject: "
					    "create one, e.g. `nats stream add`)" : "");
	*why = st == NATS_TIMEOUT || st == NATS_NO_RESPONDERS ? KS_SERR_ACK : KS_SERR_WRITE;
	return nats_errno(st);
}

static void nats_free(struct ks_sink *s)
{
	struct nats_sink *n = s->priv;
	int i;

	if (!n)
		return;
	nats_drop(n);
	for (i = 0; i < n->n_servers; i++)
		free(n->servers[i]);
	free(n->subject);
	free(n);
}

const struct ks_sink_ops ks_sink_nats_ops = {
	.scheme = "nats://", .parse = nats_parse, .open = nats_open, .send = nats_send,
	.close = nats_close, .free = nats_free,
};
