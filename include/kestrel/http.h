/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `--metrics ADDR:PORT`: GET /metrics in the Prometheus text format. */
#ifndef KESTREL_HTTP_H
#define KESTREL_HTTP_H

struct ks_http;

/* addr "HOST:PORT", ":PORT" (loopback) or "PORT". NULL with errno on error. */
struct ks_http *ks_http_start(const char *addr, const char *pin_dir);
void ks_http_stop(struct ks_http *h);

#endif /* KESTREL_HTTP_H */
