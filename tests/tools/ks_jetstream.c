// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tests' JetStream client (libnats), the reading side of kload's
 * nats:// output:
 *
 *   ks_jetstream URL add STREAM SUBJECT   create a file-backed stream
 *   ks_jetstream URL read STREAM SUBJECT  consume every message: print its
 *                                         data, one per line, on stdout
 *
 * read checks that each message carries a Kestrel-Rule-Id header equal
 * to the rule.id of its JSON, and ends with "messages N, rule header
 * mismatches M" on stderr; exit 1 when M > 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nats/nats.h>

static int fail(const char *what, natsStatus st, jsErrCode jerr)
{
	fprintf(stderr, "ks_jetstream: %s: %s (JetStream error %d)\n", what,
		natsStatus_GetText(st), (int)jerr);
	return 1;
}

static int add(jsCtx *js, const char *stream, const char *subject)
{
	const char *subjects[] = { subject };
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	natsStatus st;

	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	st = js_AddStream(NULL, js, &cfg, NULL, &jerr);
	return st == NATS_OK ? 0 : fail("add stream", st, jerr);
}

/* Does the message's Kestrel-Rule-Id header name the rule of its JSON? */
static bool header_matches(natsMsg *m)
{
	const char *hdr = NULL, *id;
	json_t *j = json_loadb(natsMsg_GetData(m), natsMsg_GetDataLength(m), 0, NULL);
	bool ok;

	id = json_string_value(json_object_get(json_object_get(j, "rule"), "id"));
	ok = natsMsgHeader_Get(m, "Kestrel-Rule-Id", &hdr) == NATS_OK && id &&
	     !strcmp(hdr, id);
	json_decref(j);
	return ok;
}

static int read_all(jsCtx *js, const char *stream, const char *subject)
{
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsErrCode jerr = 0;
	long n = 0, bad = 0;
	natsStatus st;
	int i;

	jsSubOptions_Init(&so);
	so.Stream = stream;
	st = js_PullSubscribe(&sub, js, subject, "ks-test-reader", NULL, &so, &jerr);
	if (st != NATS_OK)
		return fail("pull subscribe", st, jerr);
	for (;;) {
		natsMsgList list = { 0 };

		st = natsSubscription_Fetch(&list, sub, 512, 300, &jerr);
		if (st == NATS_TIMEOUT)
			break;
		if (st != NATS_OK)
			return fail("fetch", st, jerr);
		for (i = 0; i < list.Count; i++) {
			natsMsg *m = list.Msgs[i];

			printf("%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
			bad += !header_matches(m);
			natsMsg_Ack(m, NULL);
			n++;
		}
		natsMsgList_Destroy(&list);
	}
	natsSubscription_Destroy(sub);
	fprintf(stderr, "messages %ld, rule header mismatches %ld\n", n, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsStatus st;
	int ret;

	if (argc != 5 || (strcmp(argv[2], "add") && strcmp(argv[2], "read"))) {
		fprintf(stderr, "usage: ks_jetstream URL add|read STREAM SUBJECT\n");
		return 2;
	}
	st = natsConnection_ConnectTo(&nc, argv[1]);
	if (st == NATS_OK)
		st = natsConnection_JetStream(&js, nc, NULL);
	if (st != NATS_OK)
		return fail(argv[1], st, 0);
	if (!strcmp(argv[2], "add"))
		ret = add(js, argv[3], argv[4]);
	else
		ret = read_all(js, argv[3], argv[4]);
	fflush(stdout);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return ret;
}
