// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * XDP attachment per interface through libxdp; see include/kestrel/xdp.h
 * for the lifetime rules `kload attach` / `kload detach` follow.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "kestrel/log.h"
#include "kestrel/xdp.h"
#include "kestrel.skel.h"

const char *ks_xdp_mode_name(enum ks_xdp_mode m)
{
	switch (m) {
	case KS_XDP_MODE_AUTO:
		return "auto";
	case KS_XDP_MODE_NATIVE:
		return "native";
	case KS_XDP_MODE_SKB:
		return "skb";
	}
	return "?";
}

int ks_xdp_mode_parse(const char *s)
{
	if (!strcmp(s, "auto"))
		return KS_XDP_MODE_AUTO;
	if (!strcmp(s, "native") || !strcmp(s, "drv"))
		return KS_XDP_MODE_NATIVE;
	if (!strcmp(s, "skb") || !strcmp(s, "generic"))
		return KS_XDP_MODE_SKB;
	return -1;
}

/*
 * libxdp's messages, one level quieter than ours: the fallbacks it takes
 * on the way (dispatcher -> direct attach) are expected, and what really
 * failed is reported by ks_xdp_attach() itself.
 */
static int ks_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBXDP_DEBUG && ks_log_level < KS_LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	ks_log(level == LIBXDP_WARN ? KS_LOG_INFO : KS_LOG_DEBUG, "libxdp: %s\n", buf);
	return 0;
}

static void ks_libxdp_log_setup(void)
{
	static bool done;

	if (!done)
		libxdp_set_print(ks_libxdp_print);
	done = true;
}

int ks_xdp_prog_fd(const struct ks_engine *e)
{
	struct bpf_program *p = ks_engine_prog(e, "ks_xdp_main");

	return p ? bpf_program__fd(p) : -ENOENT;
}

int ks_xdp_set_ifname(const struct ks_engine *e, __u32 ifindex, const char *name)
{
	char val[KS_IFNAME_MAX] = {};

	if (!e->skel)
		return -ENOENT;
	strncpy(val, name, sizeof(val) - 1);
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.ks_xdp_ifnames), &ifindex, val, 0))
		return -errno;
	return 0;
}

static enum xdp_attach_mode ks_libxdp_mode(enum ks_xdp_mode m)
{
	return m == KS_XDP_MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

static int ks_xdp_try(struct xdp_program *prog, int ifindex, enum ks_xdp_mode m)
{
	return xdp_program__attach(prog, ifindex, ks_libxdp_mode(m), 0);
}

int ks_xdp_attach_one(struct ks_engine *e, const char *ifname, enum ks_xdp_mode mode,
		      struct ks_xdp_att *att)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	char msg[128];
	int fd, ifindex, err;

	memset(att, 0, sizeof(*att));
	ks_libxdp_log_setup();
	fd = ks_xdp_prog_fd(e);
	if (fd < 0) {
		pr_warn("XDP program not loaded (the engine was loaded without --xdp)\n");
		return fd;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		err = -errno;
		pr_warn("--xdp %s: no such interface (see 'ip link')\n", ifname);
		return err;
	}
	prog = xdp_program__from_fd(fd);
	err = libxdp_get_error(prog);
	if (err) {
		pr_warn("--xdp %s: libxdp cannot use the program: %s\n", ifname, strerror(-err));
		return err;
	}

	if (mode == KS_XDP_MODE_AUTO) {
		att->mode = KS_XDP_MODE_NATIVE;
		err = ks_xdp_try(prog, ifindex, att->mode);
		/* busy: something else is attached, generic mode would not help */
		if (err && err != -EBUSY && err != -EEXIST) {
			pr_debug("%s: native XDP failed (%s), trying generic mode\n", ifname,
				 strerror(-err));
			att->mode = KS_XDP_MODE_SKB;
			err = ks_xdp_try(prog, ifindex, att->mode);
		}
	} else {
		att->mode = mode;
		err = ks_xdp_try(prog, ifindex, mode);
	}
	if (err) {
		libxdp_strerror(err, msg, sizeof(msg));
		if (err == -EBUSY || err == -EEXIST)
			pr_warn("--xdp %s: another XDP program is attached (%s); remove it "
				"('xdp-loader status %s') or choose another interface\n",
				ifname, msg, ifname);
		else
			pr_warn("--xdp %s: cannot attach in %s mode: %s\n", ifname,
				ks_xdp_mode_name(mode), msg);
		xdp_program__close(prog);
		return err;
	}

	att->ifindex = ifindex;
	snprintf(att->ifname, sizeof(att->ifname), "%s", ifname);
	att->prog = prog;
	att->prog_id = xdp_program__id(prog);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!libxdp_get_error(mp) && mp) {
		att->multiprog = !xdp_multiprog__is_legacy(mp);
		xdp_multiprog__close(mp);
	}
	err = ks_xdp_set_ifname(e, ifindex, ifname);
	if (err)	/* names are then filled in userspace: not fatal */
		pr_debug("%s: cannot record the interface name: %s\n", ifname, strerror(-err));
	pr_info("XDP attached to %s (ifindex %d, %s mode%s)\n", ifname, ifindex,
		ks_xdp_mode_name(att->mode), att->multiprog ? ", libxdp dispatcher" : "");
	return 0;
}

static enum xdp_attach_mode ks_attached_mode(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	enum xdp_attach_mode m = XDP_MODE_UNSPEC;

	if (!libxdp_get_error(mp) && mp) {
		m = xdp_multiprog__attach_mode(mp);
		xdp_multiprog__close(mp);
	}
	return m;
}

int ks_xdp_detach_one(struct ks_xdp_att *att)
{
	char now[KS_IFNAME_MAX];
	int err;

	if (!att->prog)
		return 0;
	/*
	 * ifindex is per network namespace and may be reused: detach only
	 * where it still names our interface (libxdp also checks the id).
	 */
	if (strcmp(ks_xdp_ifname(att->ifindex, now), att->ifname)) {
		pr_warn("XDP on %s: ifindex %d is now \"%s\" here (other namespace, or the "
			"interface is gone): not detaching\n", att->ifname, att->ifindex, now);
		ks_xdp_release(att);
		return -ENODEV;
	}
	err = xdp_program__detach(att->prog, att->ifindex, ks_libxdp_mode(att->mode), 0);
	if (err == -ENOENT)	/* interface gone, or someone detached it already */
		err = 0;
	if (err)
		pr_warn("cannot detach XDP from %s: %s\n", att->ifname, strerror(-err));
	ks_xdp_release(att);
	return err;
}

void ks_xdp_release(struct ks_xdp_att *att)
{
	xdp_program__close(att->prog);
	memset(att, 0, sizeof(*att));
}

int ks_xdp_pin_one(const struct ks_xdp_att *att, const char *dir)
{
	char path[KS_PIN_PATH_MAX], name[32];

	if (!att->prog)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s%d", KS_XDP_PIN_PREFIX, att->ifindex);
	if (ks_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	unlink(path);
	if (bpf_obj_pin(xdp_program__fd(att->prog), path))
		return -errno;
	return 0;
}

/* ---- the interfaces of one attach ---- */

struct ks_xdp_set {
	struct ks_engine *e;
	enum ks_xdp_mode mode;
	struct ks_xdp_att att[KS_CTL_MAX_XDP];
	size_t n;
};

struct ks_xdp_set *ks_xdp_set_new(struct ks_engine *e)
{
	struct ks_xdp_set *xs = calloc(1, sizeof(*xs));

	if (xs)
		xs->e = e;
	return xs;
}

void ks_xdp_set_mode(struct ks_xdp_set *xs, enum ks_xdp_mode mode)
{
	xs->mode = mode;
}

int ks_xdp_attach(struct ks_xdp_set *xs, const char *ifname)
{
	size_t i;
	int err;

	for (i = 0; i < xs->n; i++)
		if (!strcmp(xs->att[i].ifname, ifname))
			return 0;	/* --xdp given twice */
	if (xs->n >= KS_CTL_MAX_XDP) {
		pr_warn("--xdp %s: at most %d interfaces\n", ifname, KS_CTL_MAX_XDP);
		return -E2BIG;
	}
	err = ks_xdp_attach_one(xs->e, ifname, xs->mode, &xs->att[xs->n]);
	if (!err)
		xs->n++;
	return err;
}

int ks_xdp_pin(struct ks_xdp_set *xs, const char *dir)
{
	size_t i;
	int err;

	for (i = 0; xs && i < xs->n; i++) {
		err = ks_xdp_pin_one(&xs->att[i], dir);
		if (err) {
			pr_warn("cannot pin the XDP program of %s under %s: %s\n",
				xs->att[i].ifname, dir, strerror(-err));
			return err;
		}
	}
	return 0;
}

void ks_xdp_set_free(struct ks_xdp_set *xs, bool detach)
{
	size_t i;

	if (!xs)
		return;
	for (i = 0; i < xs->n; i++) {
		if (detach)
			ks_xdp_detach_one(&xs->att[i]);
		else
			ks_xdp_release(&xs->att[i]);
	}
	free(xs);
}

size_t ks_xdp_set_count(const struct ks_xdp_set *xs)
{
	return xs ? xs->n : 0;
}

const struct ks_xdp_att *ks_xdp_set_get(const struct ks_xdp_set *xs, size_t i)
{
	return xs && i < xs->n ? &xs->att[i] : NULL;
}

/* ---- kload detach ---- */

/* Detach the program pinned at path from ifindex if it is attached there. */
static int ks_xdp_detach_pin(const char *path, int ifindex)
{
	struct xdp_program *prog = xdp_program__from_pin(path);
	enum xdp_attach_mode m;
	int err = libxdp_get_error(prog);

	if (err)
		return err;
	m = ks_attached_mode(ifindex);
	err = m == XDP_MODE_UNSPEC ? -ENOENT : xdp_program__detach(prog, ifindex, m, 0);
	xdp_program__close(prog);
	return err;
}

int ks_xdp_detach_pinned(const char *dir)
{
	const size_t plen = strlen(KS_XDP_PIN_PREFIX);
	struct dirent *de;
	char path[KS_PIN_PATH_MAX];
	int n = 0, err = 0;
	DIR *d;

	ks_libxdp_log_setup();
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *endp;
		long ifindex;
		int r;

		if (strncmp(de->d_name, KS_XDP_PIN_PREFIX, plen))
			continue;
		ifindex = strtol(de->d_name + plen, &endp, 10);
		if (*endp || ifindex <= 0)
			continue;
		if (ks_pin_path(path, sizeof(path), dir, de->d_name))
			continue;
		r = ks_xdp_detach_pin(path, ifindex);
		/* -ENOENT: interface gone or another program there now */
		if (r && r != -ENOENT) {
			pr_warn("cannot detach XDP from ifindex %ld: %s\n", ifindex, strerror(-r));
			err = r;
			continue;
		}
		if (!r)
			n++;
		unlink(path);
	}
	closedir(d);
	return err ? err : n;
}

const char *ks_xdp_ifname(__u32 ifindex, char buf[KS_IFNAME_MAX])
{
	buf[0] = 0;
	if (ifindex && !if_indextoname(ifindex, buf))
		buf[0] = 0;
	return buf;
}

int ks_xdp_fill_iface(struct ks_event *ev)
{
	char name[KS_IFNAME_MAX];
	size_t n;

	if ((ev->present & KS_P_IFACE) || !ev->ifindex)
		return 0;
	n = strlen(ks_xdp_ifname(ev->ifindex, name));
	if (!n)
		return 0;
	memset(ev->iface, 0, sizeof(ev->iface));
	memcpy(ev->iface, name, n);
	ev->str[KS_F_IFACE_NAME].off = offsetof(struct ks_event, iface);
	ev->str[KS_F_IFACE_NAME].len = n;
	ev->present |= KS_P_IFACE;
	return 1;
}
