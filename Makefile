# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Kestrel build. `make help` lists the targets; `make V=1` shows commands.

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD ?= build

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:
.DEFAULT_GOAL := all

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# `make run` and `make test` build with every CPU
NPROC := $(shell nproc 2>/dev/null || echo 2)

# Libraries come from Debian packages; name the package when one is missing.
# `run` and `test` install them first (deps) and build in a sub-make, which
# checks; so does every other goal, at once.
define need_pkg
$(if $(shell $(PKG_CONFIG) --exists $(1) && echo y),,$(error $(1) not found: run 'make deps' (Debian package $(2))))
endef
ifeq ($(filter deps help clean run test,$(MAKECMDGOALS)),)
$(call need_pkg,libbpf,libbpf-dev)
$(call need_pkg,yaml-0.1,libyaml-dev)
$(call need_pkg,jansson,libjansson-dev)
$(call need_pkg,libpcre2-8,libpcre2-dev)
$(call need_pkg,libnats,libnats-dev)
endif

# The kernel's name for this machine's architecture (bpf_tracing.h's
# __TARGET_ARCH_*, which PT_REGS and the syscall wrappers depend on).
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/i.86/x86/' \
	-e 's/aarch64.*/arm64/' -e 's/arm.*/arm/' -e 's/ppc64.*/powerpc/' \
	-e 's/s390x/s390/' -e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/')
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS := -D_GNU_SOURCE -DKS_VERSION=\"$(VERSION)\" -Iinclude -I. -I$(BUILD) -MMD -MP
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Wno-unused-function -I$(BUILD) -I. -Ibpf -MMD -MP

LIBS_CORE := $(shell $(PKG_CONFIG) --libs libbpf yaml-0.1 jansson libpcre2-8 2>/dev/null)
LIBS_KLOAD := $(LIBS_CORE) -lxdp -lm -lpthread
# kload itself links the libraries in and only glibc shared (its NSS and
# iconv stay as the system has them): every shared object is mapped and
# relocated at each start, and `kload reload` is a start; on this kind of
# VM each page a new process touches is costly (bench/profile/kbin4-cli.txt:
# kload --version 8.2-8.8 ms of CPU with 11 objects, 4.1-4.5 ms with 3)
LIBS_KLOAD_BIN := -Wl,-Bstatic -lxdp -lbpf -lelf -lz -lzstd -lyaml -ljansson -lpcre2-8 \
	-Wl,-Bdynamic -lpthread
LIBS_STATIC_FULL := -static -lxdp -lbpf -lelf -lz -lzstd -lyaml -ljansson -lpcre2-8 -lm

# ---- sources ----
COMP_SRCS := $(sort $(wildcard rules-compiler/*.c))
LOADER_SRCS := $(sort $(wildcard loader/*.c))
LOADER_LIB_SRCS := $(filter-out loader/main.c,$(LOADER_SRCS))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
SELFTEST_SRCS := $(sort $(wildcard selftests/*.c)) $(sort $(wildcard selftests/prog_tests/*.c))
# kestrel.bpf.o is linked from kestrel.bpf.c (maps, process hooks) and
# these parts: the evaluator's and the task fill's global subprograms, and
# one object per hook family (bpftool gen object resolves their extern
# maps and functions). Every other bpf/*.bpf.c is an object of its own.
KS_BPF_PARTS := eval task hook_file hook_net hook_sys hook_xdp hook_dns
BPF_SRCS := $(filter-out $(KS_BPF_PARTS:%=bpf/%.bpf.c),$(sort $(wildcard bpf/*.bpf.c)))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMP_OBJS := $(call obj,$(COMP_SRCS))
LOADER_OBJS := $(call obj,$(LOADER_LIB_SRCS))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
SELFTEST_OBJS := $(call obj,$(SELFTEST_SRCS))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

KLOAD := $(BUILD)/kload
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
TEST_PROGS := $(BUILD)/selftests/test_progs
TEST_PROGS_STATIC := $(BUILD)/selftests/test_progs-static

.PHONY: all
all: $(KLOAD) $(TEST_BINS) $(TEST_PROGS) $(TOOLS)

# ---- BPF ----
# vmlinux.h from the running kernel's BTF, rewritten only when it changes,
# so a rebuild does not recompile every BPF object for nothing.
$(BUILD)/vmlinux.h: FORCE | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)if [ ! -r /sys/kernel/btf/vmlinux ]; then \
		echo "error: /sys/kernel/btf/vmlinux missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y" >&2; exit 3; fi
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/bpf/%.tmp.o: bpf/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: $(BUILD)/bpf/%.tmp.o
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/bpf/kestrel.bpf.o: $(KS_BPF_PARTS:%=$(BUILD)/bpf/%.tmp.o)

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every bpf/*.bpf.h compiles alone, with the BPF flags, from a .c that
# includes only it: a header includes what it uses. ks_dfa.bpf.h is a
# template whose includer defines its parameters (its header comment);
# the check gives stand-ins of the same kinds.
BPF_HDRS := $(sort $(wildcard bpf/*.bpf.h))
BPF_HDR_CHECKS := $(patsubst bpf/%.bpf.h,$(BUILD)/bpf/hdr/%.ok,$(BPF_HDRS))
HDR_DEFS_ks_dfa := -DKS_DFA_TAB_MASK=0xfffcu -DKS_DFA_BUF_MASK=0xffu \
	'-Dks_dfa_drain(cb)=((void)(cb))'
HDR_DEFS_ks_fdr := $(HDR_DEFS_ks_dfa) -DKS_FDR_Q_MAX=1024u

$(BUILD)/bpf/hdr/%.ok: bpf/%.bpf.h $(BUILD)/vmlinux.h
	$(call msg,HDRCHECK,$<)
	$(Q)mkdir -p $(@D)
	$(Q)printf '#include "%s"\n' $< > $(@D)/$*.c
	$(Q)$(CLANG) $(BPF_CFLAGS) $(HDR_DEFS_$*) -MF $(@D)/$*.d -MT $@ -fsyntax-only $(@D)/$*.c
	$(Q)touch $@

.PHONY: bpf-headers
bpf-headers: $(BPF_HDR_CHECKS)

# ---- userspace ----
$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(BUILD)/libkscomp.a: $(COMP_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libkload.a: $(LOADER_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

LIBS_KS := $(BUILD)/libkload.a $(BUILD)/libkscomp.a

$(KLOAD): $(call obj,loader/main.c) $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_KLOAD_BIN)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LIBS_KLOAD)

# the tests' own clients of the servers kload's outputs talk to (kload
# itself dlopens libnats, loader/sink_nats.c)
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_KLOAD) $(shell $(PKG_CONFIG) --libs libnats 2>/dev/null)

$(TEST_PROGS): $(SELFTEST_OBJS) $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_KLOAD) -lpthread

# Test list generated from prog_tests/*.c: one DEFINE_TEST per file.
$(BUILD)/ks_tests.h: $(sort $(wildcard selftests/prog_tests/*.c)) | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)for f in $^; do n=$$(basename $$f .c); echo "DEFINE_TEST($$n)"; done > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(call obj,selftests/test_progs.c): $(BUILD)/ks_tests.h
# prog_tests/*.c include "test_progs.h"; only the selftests see that folder
$(SELFTEST_OBJS): CPPFLAGS += -Iselftests

# The VM has no shared libraries: everything, skeletons included, in one file.
$(TEST_PROGS_STATIC): $(SELFTEST_OBJS) $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_STATIC_FULL) -lpthread

# ---- benchmarks ----
# Built with the project's flags (-Werror included); `make bench` runs them
# through bench/run.sh, which records every figure in bench/results.json.
BENCH_NAMES := bench_dfa bench_xdp bench_host bench_nfa bench_replay bench_mem bench_systp bench_hash \
	bench_sustain
BENCH_BINS := $(patsubst %,$(BUILD)/bench/%,$(BENCH_NAMES)) $(BUILD)/bench/report
BENCH_DFA_PARTS := $(call obj,bench/dfa_sets.c bench/dfa_cloops.c)
BENCH_OBJS := $(call obj,$(patsubst %,bench/%.c,$(BENCH_NAMES) bench_common report)) $(BENCH_DFA_PARTS)
$(BENCH_OBJS): CPPFLAGS += -Ibench
$(BUILD)/bench/bench_dfa: $(BENCH_DFA_PARTS)

$(BUILD)/bench/bench_%: $(BUILD)/obj/bench/bench_%.o $(call obj,bench/bench_common.c) $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_KLOAD) -lpcap $(if $(filter dfa,$*),-lhs)

$(BUILD)/bench/report: $(call obj,bench/report.c)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -ljansson

$(BUILD) $(BUILD)/bpf:
	$(Q)mkdir -p $@

# ---- sanitizers and fuzzing ----
# A second build tree, $(SAN_BUILD), compiles every userspace source with
# clang and ASan/UBSan plus libFuzzer's coverage hooks: `make test` runs the
# unit tests and replays every fuzz corpus there; `make fuzz` fuzzes.
# Fuzz targets are tests/fuzz/fuzz_NAME.c (LLVMFuzzerTestOneInput), seeds
# in tests/fuzz/corpus/NAME/; new ones are picked up by the wildcard.
SAN_BUILD := $(BUILD)/san
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fsanitize=fuzzer-no-link
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(LIBS_KS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS_KLOAD)

.PHONY: san-build fuzz-build fuzz fuzz-regress
# Sanitized unit tests and fuzz targets, built in $(SAN_BUILD) by a sub-make.
san-build:
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CC=$(CLANG) \
		CFLAGS="$(SAN_CFLAGS)" san-targets

.PHONY: san-targets
san-targets: $(TEST_BINS) $(FUZZ_BINS)
	@:

fuzz: san-build
	$(Q)./scripts/fuzz.sh --seconds $(FUZZ_SECONDS) $(SAN_BUILD)/fuzz

fuzz-regress: san-build
	$(Q)./scripts/fuzz.sh --regress $(SAN_BUILD)/fuzz

# ---- top-level commands ----
.PHONY: deps run test unit selftest vmtest bench bench-build install clean help FORCE
deps:
	$(Q)./scripts/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) all
	$(Q)./scripts/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory -j$(NPROC) all $(TEST_PROGS_STATIC) san-build bpf-headers
	$(Q)./scripts/run-tests.sh

unit: $(TEST_BINS) bpf-headers
	$(Q)./scripts/run-tests.sh --only unit

selftest: $(TEST_PROGS)
	$(Q)./scripts/run-tests.sh --only selftest

vmtest: $(TEST_PROGS_STATIC)
	$(Q)./scripts/run-tests.sh --only vm

bench-build: $(BENCH_BINS)

bench: all
	$(Q)./bench/run.sh

# Files with the install paths substituted (the unit's ExecStart, the
# configuration's rules path).
ks_subst = sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@DATADIR@|$(PREFIX)/share|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $(1) > $(2)

# The configuration is the administrator's: an existing one is kept.
install: $(KLOAD)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/kestrel/rules $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/kestrel $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -d -m 0750 $(DESTDIR)/var/log/kestrel
	install -m 0755 $(KLOAD) $(DESTDIR)$(PREFIX)/sbin/kload
	install -m 0644 docs/kload.8 $(DESTDIR)$(PREFIX)/share/man/man8/kload.8
	cp -r rules/. $(DESTDIR)$(PREFIX)/share/kestrel/rules/
	rm -rf $(DESTDIR)$(PREFIX)/share/kestrel/rules/tests
	$(call ks_subst,packaging/kestrel.service.in,$(DESTDIR)$(SYSTEMDUNITDIR)/kestrel.service)
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/kestrel.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/kestrel/kestrel.yml ] || \
		$(call ks_subst,packaging/kestrel.yml.in,$(DESTDIR)$(SYSCONFDIR)/kestrel/kestrel.yml)
	install -m 0644 packaging/kestrel.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/kestrel
	install -m 0644 packaging/kload.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/kload

# A .deb of this tree (scripts/mkdeb.sh): build/kestrel_VERSION-REV_ARCH.deb
DEB_REVISION ?= 1
.PHONY: deb deb-test verify-unit
deb: $(KLOAD)
	$(Q)./scripts/mkdeb.sh $(BUILD) $(VERSION)-$(DEB_REVISION)

# install, upgrade, run and purge the .deb in a bare Debian 12 root
deb-test: $(KLOAD)
	$(Q)./scripts/deb-test.sh $(BUILD) $(VERSION)

# systemd-analyze verify on the unit, its ExecStart pointing at this build
verify-unit: $(KLOAD)
	$(Q)mkdir -p $(BUILD)/unit
	$(Q)sed -e 's|@SBINDIR@|$(abspath $(BUILD))|g' -e 's|@SYSCONFDIR@|/etc|g' \
		packaging/kestrel.service.in > $(BUILD)/unit/kestrel.service
	@# it exits 0 on mere warnings ("Failed to parse ..."): any output fails;
	@# Documentation= names man:kload(8), installed by make install only
	$(Q)systemd-analyze verify --man=no $(BUILD)/unit/kestrel.service > $(BUILD)/unit/verify.log 2>&1; \
		rc=$$?; cat $(BUILD)/unit/verify.log; [ $$rc -eq 0 ] && [ ! -s $(BUILD)/unit/verify.log ] && \
		echo "systemd-analyze verify: kestrel.service ok"

clean:
	rm -rf $(BUILD)

help:
	@echo "make run      install deps, build, attach with rules/ (root); = ./kestrel.sh run"
	@echo "make test     install deps, build, unit + selftests + VM selftests; = ./kestrel.sh test"
	@echo "make unit | selftest | vmtest | bench | install | clean  (V=1 verbose)"
	@echo "make deb      build/kestrel_VERSION-1_ARCH.deb; make deb-test installs,"
	@echo "              upgrades and purges it in a bare Debian 12 root"
	@echo "make fuzz FUZZ_SECONDS=N   run every libFuzzer target (ASan/UBSan) N seconds"

FORCE:

-include $(shell find $(BUILD)/obj $(BUILD)/bpf -name '*.d' 2>/dev/null)
