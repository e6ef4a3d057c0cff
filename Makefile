# Makefile -- libwrecoil (hand-written; configure writes config.mk).
#
#   make                 build libwrecoil.so.X.Y.Z (+ symlinks), libwrecoil.a
#                        and tools/wrecoil; on a fresh clone it first runs
#                        autoreconf and ./configure (CONFIGURE_FLAGS=...)
#   make check           every test (C/Check, ABI, install+examples, Python)
#   make check-asan      library and C tests under AddressSanitizer + UBSan
#   make check-tsan      library and the *threads*/*concurrency* C tests under
#                        ThreadSanitizer
#   make check-valgrind  the C tests under valgrind memcheck
#   make bench [SUITE=]  benchmarks side by side with their peers (bench/out/*.json)
#   make demo            the analysis chain on the built-in toy simulation
#   make install/uninstall   honour PREFIX, LIBDIR, DESTDIR (and INCLUDEDIR,
#                        BINDIR, DOCDIR, PKGCONFIGDIR)
#   make abi-update      rewrite tests/abi/symbols.txt after an intended API addition
#   make fuzz            build the libFuzzer targets (clang, ASan+UBSan, build-fuzz)
#                        and run each for FUZZ_SECONDS (default 60; FUZZ_JOBS in
#                        parallel, FUZZ_TARGETS to pick some); docs/robustness.md
#   make fuzz-replay     replay the committed corpora and crash regressions
#                        through every target, built with CC (no libFuzzer)
#   make fuzz-seeds      regenerate the seed corpora fuzz/corpus/* (committed)
#
# Another compiler or a separate build tree:  make CC=clang BUILD=build-clang

.DEFAULT_GOAL := all

# Targets that must work without a configured tree.
NOCONFIG_GOALS := clean distclean
ifneq ($(filter-out $(NOCONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
-include config.mk
endif

# config.mk and pkgconfig/wrecoil.pc come from configure.  A change of
# configure.ac or a template re-runs configure with the options it was first
# run with (config.status --recheck), so user options survive.
config.mk: config.mk.in pkgconfig/wrecoil.pc.in configure
	@if [ -x config.status ] && [ config.status -nt configure ]; then \
	  ./config.status; \
	elif [ -x config.status ]; then \
	  ./config.status --recheck && ./config.status; \
	else \
	  ./configure $(CONFIGURE_FLAGS); \
	fi
	@touch $@

configure: configure.ac
	@command -v autoreconf >/dev/null 2>&1 || { \
	  echo "error: autoreconf not found (Debian: apt-get install autoconf automake)"; exit 1; }
	autoreconf -fi
	@touch $@

pkgconfig/wrecoil.pc: config.mk

# The compiler configure found, unless the user named one (make CC=clang, or
# CC in the environment).
ifeq ($(origin CC),default)
CC := $(or $(CONFIG_CC),cc)
endif
ifeq ($(origin CXX),default)
CXX := $(or $(CONFIG_CXX),c++)
endif
# configure probed OpenMP for its own compiler; probe again for another one
# (clang needs libomp-dev for -fopenmp).
ifneq ($(OPENMP_CFLAGS),)
ifneq ($(CC),$(CONFIG_CC))
# (\043 is '#', which make would take for a comment)
OPENMP_CFLAGS := $(shell printf '\043include <omp.h>\nint main(void){return omp_get_max_threads()<1;}\n' | \
  $(CC) -fopenmp -x c - -o /dev/null >/dev/null 2>&1 && echo -fopenmp)
endif
endif

VERSION_MAJOR := 0
VERSION_MINOR := 2
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= $(or $(CONFIGURED_PREFIX),/usr/local)
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
DOCDIR ?= $(PREFIX)/share/doc/libwrecoil
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

BUILD ?= build
SAN_FLAGS ?=
OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# clang reports "loop not vectorized" for `omp simd` loops as a warning; it is
# an optimizer remark that depends on the clang version and -O level, not on
# the code's correctness, so -Werror must not turn it into a build failure.
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -qi clang && echo yes)
ifeq ($(IS_CLANG),yes)
WARN += -Wno-pass-failed
endif
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN_FLAGS) -pthread -Iinclude -Ilib -Ilib/core $(BLAS_CFLAGS)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -DWR_BUILDING_LIBRARY $(OPENMP_CFLAGS)
DEP_LIBS := $(LAPACKE_LIBS) $(BLAS_LIBS) $(Z_LIBS) $(PTHREAD_LIBS) -lm $(OPENMP_CFLAGS)

LIB_SRCS := $(wildcard lib/core/*.c) $(wildcard lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB_HDRS := include/wrecoil.h $(wildcard include/wrecoil/*.h) $(wildcard lib/*.h) $(wildcard lib/core/*.h)

SONAME := libwrecoil.so.$(VERSION_MAJOR)
SHLIB := $(BUILD)/libwrecoil.so.$(VERSION)
STLIB := $(BUILD)/libwrecoil.a

TOOL_SRCS := $(wildcard tools/*.c)
TOOL := $(if $(TOOL_SRCS),$(BUILD)/wrecoil,)

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
# ThreadSanitizer runs only the tests written for concurrency.
TSAN_TEST_SRCS := $(sort $(wildcard tests/test_*threads*.c tests/test_*concurrency*.c))
TSAN_TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TSAN_TEST_SRCS))

.PHONY: all lib check check-asan check-tsan check-valgrind check-c check-tsan-c bench demo \
  install uninstall clean distclean abi-update fuzz fuzz-build fuzz-bins fuzz-replay fuzz-seeds

all: $(SHLIB) $(BUILD)/libwrecoil.so $(STLIB) $(TOOL)

lib: $(SHLIB) $(STLIB)

# The compiler and flags of a build tree are recorded in $(BUILD)/.cflags,
# rewritten only when they change, so that objects built with other flags
# (e.g. a sanitizer option added to SAN_FLAGS) are rebuilt.
FLAGS_STAMP := $(BUILD)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(LIB_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(LIB_CFLAGS)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c $(LIB_HDRS) config.mk $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHLIB): $(LIB_OBJS) lib/libwrecoil.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libwrecoil.map \
	  -Wl,--no-undefined $(SAN_FLAGS) -o $@ $(LIB_OBJS) $(DEP_LIBS)

$(BUILD)/libwrecoil.so: $(SHLIB)
	ln -sf libwrecoil.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

TOOL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TOOL_SRCS))
$(BUILD)/tools/%.o: tools/%.c $(wildcard tools/*.h) $(LIB_HDRS) config.mk
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

$(BUILD)/wrecoil: $(TOOL_OBJS) $(BUILD)/libwrecoil.so
	$(CC) $(SAN_FLAGS) -o $@ $(TOOL_OBJS) -L$(BUILD) -lwrecoil -Wl,-rpath,'$$ORIGIN' $(DEP_LIBS)

# Tests link the static library so they can reach internal (wr__) helpers.
$(BUILD)/tests/%: tests/%.c tests/testutil.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CHECK_CFLAGS) -Itests -o $@ $< $(STLIB) $(CHECK_LIBS) $(DEP_LIBS)

check-c: all $(TEST_BINS)

check: check-c
	@BUILD=$(BUILD) PYTHON="$(PYTHON)" CC="$(CC)" CXX="$(CXX)" PKG_CONFIG="$(PKG_CONFIG)" \
	  MAKE="$(MAKE)" sh tests/run_all.sh

# LeakSanitizer stays on: the library must not leak.  OpenBLAS keeps its
# thread pool and buffers until exit, which LSan would report, so the tests
# run it single-threaded (run_all.sh) and suppressions name only OpenBLAS.
ASAN_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" SAN_FLAGS="$(ASAN_SAN)" check-c
	@BUILD=build-asan ASAN=1 sh tests/run_all.sh
	@echo "== fuzz corpora and regressions under ASan+UBSan"
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN_FLAGS="$(ASAN_SAN)" fuzz-replay

check-tsan-c: $(TSAN_TEST_BINS)

# WR_NO_CLONES: no target_clones (ifunc) in lib/nn.c under TSan -- the
# dynamic loader runs ifunc resolvers before the TSan runtime is set up, and
# an instrumented resolver crashes the program before main().
TSAN_SAN := -fsanitize=thread -DWR_NO_CLONES

check-tsan:
	@if [ -z "$(TSAN_TEST_SRCS)" ]; then \
	  echo "check-tsan: SKIPPED: no tests/test_*threads*.c or tests/test_*concurrency*.c yet"; \
	else \
	  $(MAKE) BUILD=build-tsan OPT="-O1 -g -fno-omit-frame-pointer" SAN_FLAGS="$(TSAN_SAN)" \
	    check-tsan-c && \
	  BUILD=build-tsan TSAN=1 TSAN_TESTS="$(TSAN_TEST_SRCS)" sh tests/run_all.sh; \
	fi

# Memcheck on the C tests as built by `make` (-O2 -g): invalid accesses and
# definite leaks fail the test (Check forks per test; valgrind follows).
check-valgrind: check-c
	@if command -v valgrind >/dev/null 2>&1; then \
	  BUILD=$(BUILD) VALGRIND=1 sh tests/run_all.sh; \
	else \
	  echo "check-valgrind: SKIPPED: valgrind not installed (apt-get install valgrind)"; \
	fi

abi-update: $(SHLIB)
	sh tests/abi_symbols.sh $(SHLIB) > tests/abi/symbols.txt

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# Benchmark drivers link the shared library, as users do.
$(BUILD)/bench/%: bench/%.c $(BUILD)/libwrecoil.so $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $< -L$(BUILD) -lwrecoil -Wl,-rpath,'$$ORIGIN/..' $(DEP_LIBS)

SUITE ?=
bench: all $(BENCH_BINS)
	@BUILD=$(BUILD) PYTHON="$(PYTHON)" sh bench/run.sh $(SUITE)

demo: all
	@if [ -x $(BUILD)/wrecoil ] && $(BUILD)/wrecoil demo --help >/dev/null 2>&1; then \
	  $(BUILD)/wrecoil demo --out demo-out; \
	else \
	  BUILD=$(BUILD) CC="$(CC)" sh examples/demo.sh $(BUILD); \
	fi

# Headers, libraries, wrecoil.pc (paths rewritten for PREFIX/LIBDIR), the
# command (relinked with an rpath to LIBDIR) and the docs.
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/wrecoil $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 include/wrecoil.h $(DESTDIR)$(INCLUDEDIR)/wrecoil.h
	install -m 644 include/wrecoil/*.h $(DESTDIR)$(INCLUDEDIR)/wrecoil/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libwrecoil.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libwrecoil.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|^prefix=.*|prefix=$(PREFIX)|' -e 's|^exec_prefix=.*|exec_prefix=$(PREFIX)|' \
	  -e 's|^libdir=.*|libdir=$(LIBDIR)|' -e 's|^includedir=.*|includedir=$(INCLUDEDIR)|' \
	  pkgconfig/wrecoil.pc > $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc
	@if [ -n "$(TOOL)" ]; then \
	  echo "install $(BINDIR)/wrecoil"; install -d $(DESTDIR)$(BINDIR) && \
	  $(CC) $(SAN_FLAGS) -o $(DESTDIR)$(BINDIR)/wrecoil $(TOOL_OBJS) -L$(BUILD) -lwrecoil \
	    -Wl,-rpath,$(LIBDIR) $(DEP_LIBS); fi
	install -m 644 README.md ChangeLog $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/

# Removes exactly what install put there; shared directories (lib, include,
# bin, pkgconfig) stay, the package's own (include/wrecoil, DOCDIR) go.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwrecoil.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libwrecoil.so $(DESTDIR)$(LIBDIR)/libwrecoil.a \
	  $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc $(DESTDIR)$(BINDIR)/wrecoil \
	  $(DESTDIR)$(INCLUDEDIR)/wrecoil.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/wrecoil $(DESTDIR)$(DOCDIR)

# ------------------------------------------------------------------ fuzzing
# libFuzzer targets fuzz/fuzz_<name>.c.  The library is rebuilt in
# build-fuzz with clang, -fsanitize=fuzzer-no-link,address,undefined and
# -fopenmp-simd (the library uses OpenMP for `omp simd` only, so no OpenMP
# runtime is linked).  Each run starts from the committed seeds
# fuzz/corpus/<name> and the crash regressions fuzz/regressions/<name>,
# writes new inputs to build-fuzz/corpus/<name> and crashes to
# build-fuzz/crashes/<name>/ (fuzz/run.sh).
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
# -Wno-error: another compiler's new warnings must not stop a fuzzing run.
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -Wno-error

fuzz-build:
	@printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' | \
	  $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1 || { \
	  echo "error: $(FUZZ_CC) cannot build libFuzzer targets (Debian: apt-get install clang libclang-rt-dev)"; \
	  exit 1; }
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) OPENMP_CFLAGS=-fopenmp-simd \
	  OPT="-O1 -g -fno-omit-frame-pointer" SAN_FLAGS="$(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(STLIB) $(DEP_LIBS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) sh fuzz/run.sh build-fuzz $(FUZZ_TARGETS)

# The same targets driven by fuzz/standalone.c (a main() that feeds files),
# built with the configured compiler: `make check` replays every committed
# input (tests/sh/fuzz_corpus.sh), `make check-asan` does it under ASan.
FUZZ_REPLAY_BINS := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES))
$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/standalone.c fuzz/fuzz.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Ifuzz -o $@ $< fuzz/standalone.c $(STLIB) $(DEP_LIBS)

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@set -e; for t in $(FUZZ_NAMES); do \
	  dirs="fuzz/corpus/$$t"; \
	  [ -d fuzz/regressions/$$t ] && dirs="$$dirs fuzz/regressions/$$t"; \
	  OPENBLAS_NUM_THREADS=1 $(BUILD)/fuzz/replay_$$t $$dirs; \
	done

$(BUILD)/fuzz/make_seeds: fuzz/make_seeds.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $< $(STLIB) $(DEP_LIBS)

fuzz-seeds: $(BUILD)/fuzz/make_seeds
	OPENBLAS_NUM_THREADS=1 $(BUILD)/fuzz/make_seeds fuzz/corpus

clean:
	rm -rf build build-asan build-tsan build-clang build-fuzz bench/out demo-out

distclean: clean
	rm -rf config.mk config.log config.status configure configure~ autom4te.cache pkgconfig/wrecoil.pc
