/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * XDP attachment of ks_xdp_main (bpf/hook_xdp.bpf.c), per interface.
 *
 * ks_engine_load() with opts.xdp loads ks_xdp_main with the other programs
 * (same maps, same tables); ks_engine_attach() leaves it alone, and
 * `kload attach --xdp IFACE` calls ks_xdp_attach() once per interface.
 *
 * Attachment goes through libxdp (xdp_program__from_fd +
 * xdp_program__attach), native mode first, generic (skb) mode when the
 * driver has no native XDP. Note on sharing: libxdp can put only programs
 * it loads itself as freplace (EXT) components behind its dispatcher; a
 * program handed over as a loaded XDP fd - ours, because it must share the
 * engine's maps and rodata - is attached directly ("legacy" mode in libxdp
 * terms). So the interface must have no other XDP program, and an XDP
 * program attached later through libxdp finds ours and refuses to replace
 * it instead of silently evicting it. ks_xdp_att.multiprog reports which
 * of the two happened.
 *
 * Lifetime: an XDP attachment made this way belongs to the interface, not
 * to a file descriptor: it survives kload unless detached. Therefore:
 *   - `kload attach` without --detach-on-exit calls ks_xdp_pin(), which
 *     pins the program as <pin-dir>/xdp_if<IFINDEX> for each interface;
 *   - `kload attach --detach-on-exit` (and every error path) calls
 *     ks_xdp_set_free(xs, true) before ks_engine_destroy();
 *   - `kload detach` must call ks_xdp_detach_pinned(dir) BEFORE
 *     ks_pins_remove(dir): unpinning alone would leave the program running
 *     on the interface. ks_xdp_detach_pinned() detaches every xdp_if* pin's
 *     program from its interface (when it is still the one attached there)
 *     and removes the pin.
 *
 * Interface names: XDP sees only ifindex. ks_xdp_attach() records
 * ifindex -> name in the ks_xdp_ifnames map so the kernel fills
 * observer.ingress.interface.name itself; for events without it (replay,
 * an interface renamed or not attached by us) kload calls
 * ks_xdp_fill_iface() on forwarded events, which resolves ifindex with
 * if_indextoname().
 */
#ifndef KESTREL_XDP_H
#define KESTREL_XDP_H

#include <stdbool.h>
#include <linux/types.h>

#include "kestrel/engine.h"

#define KS_XDP_PROG		"ks_xdp_main"
#define KS_XDP_PIN_PREFIX	"xdp_if"	/* <pin-dir>/xdp_if<IFINDEX> */

struct xdp_program;

enum ks_xdp_mode {
	KS_XDP_MODE_AUTO = 0,	/* native, else generic */
	KS_XDP_MODE_NATIVE,
	KS_XDP_MODE_SKB,	/* generic XDP */
};

struct ks_xdp_att {
	int ifindex;
	char ifname[KS_IFNAME_MAX];
	enum ks_xdp_mode mode;	/* the mode in use (never AUTO) */
	bool multiprog;		/* behind libxdp's dispatcher, shared */
	__u32 prog_id;
	struct xdp_program *prog;
};

const char *ks_xdp_mode_name(enum ks_xdp_mode m);
/* "auto" | "native" (also "drv") | "skb" (also "generic"); -1 when unknown. */
int ks_xdp_mode_parse(const char *s);

/* fd of the loaded ks_xdp_main, -ENOENT when the engine was loaded without xdp. */
int ks_xdp_prog_fd(const struct ks_engine *e);

/*
 * The interfaces of one `kload attach` (what cmd_attach.c uses):
 *   xs = ks_xdp_set_new(&e);
 *   ks_xdp_attach(xs, "eth1");  ...      (0 or -errno, message printed)
 *   ks_xdp_pin(xs, pin_dir);             (unless --detach-on-exit)
 *   ks_xdp_set_free(xs, detach);         (detach: true with --detach-on-exit)
 * ks_xdp_set_free(NULL, ...) is a no-op.
 */
struct ks_xdp_set;

struct ks_xdp_set *ks_xdp_set_new(struct ks_engine *e);
/* Mode for the following ks_xdp_attach() calls (default KS_XDP_MODE_AUTO). */
void ks_xdp_set_mode(struct ks_xdp_set *xs, enum ks_xdp_mode mode);
int ks_xdp_attach(struct ks_xdp_set *xs, const char *ifname);
int ks_xdp_pin(struct ks_xdp_set *xs, const char *dir);
/* Detach every attachment (detach) or leave them running, then free xs. */
void ks_xdp_set_free(struct ks_xdp_set *xs, bool detach);
size_t ks_xdp_set_count(const struct ks_xdp_set *xs);
const struct ks_xdp_att *ks_xdp_set_get(const struct ks_xdp_set *xs, size_t i);

/* `kload detach`: detach and unpin every xdp_if* of dir; returns how many. */
int ks_xdp_detach_pinned(const char *dir);

/* One interface (the set's building blocks; tests use them directly). */
int ks_xdp_attach_one(struct ks_engine *e, const char *ifname, enum ks_xdp_mode mode,
		      struct ks_xdp_att *att);
/* Detach what ks_xdp_attach_one() attached and release att. 0 or -errno. */
int ks_xdp_detach_one(struct ks_xdp_att *att);
/* Release att without detaching (a pinned program keeps running). */
void ks_xdp_release(struct ks_xdp_att *att);
/* Pin the attached program as <dir>/xdp_if<ifindex> (see above). */
int ks_xdp_pin_one(const struct ks_xdp_att *att, const char *dir);

/* Record ifindex -> name for the kernel (ks_xdp_ifnames map). */
int ks_xdp_set_ifname(const struct ks_engine *e, __u32 ifindex, const char *name);

/* Interface name of ifindex into buf ("" when unknown); returns buf. */
const char *ks_xdp_ifname(__u32 ifindex, char buf[KS_IFNAME_MAX]);
/*
 * Fill observer.ingress.interface.name of a forwarded packet event from
 * its ifindex when the kernel could not. Returns 1 if it filled it.
 */
int ks_xdp_fill_iface(struct ks_event *ev);

#endif /* KESTREL_XDP_H */
