# Makefile -- libwrecoil (hand-written; configure writes config.mk).
#
#   make                 build libwrecoil.so.X.Y.Z, libwrecoil.a and tools/wrecoil
#   make check           every test (C/Check, ABI, install+examples, Python)
#   make check-asan      library and tests under AddressSanitizer + UBSan
#   make bench [SUITE=]  benchmarks side by side with their peers (bench/out/*.json)
#   make demo            the analysis chain on the built-in toy simulation
#   make install/uninstall   honour PREFIX, LIBDIR, DESTDIR
#   make abi-update      rewrite tests/abi/symbols.txt after an intended API addition

-include config.mk

config.mk: config.mk.in configure
	./configure $(CONFIGURE_FLAGS)

configure: configure.ac
	autoreconf -fi

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= $(if $(CONFIGURED_PREFIX),$(CONFIGURED_PREFIX),/usr/local)
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

.PHONY: all lib check check-asan check-c bench demo install uninstall clean distclean abi-update

all: $(SHLIB) $(BUILD)/libwrecoil.so $(STLIB) $(TOOL)

lib: $(SHLIB) $(STLIB)

$(BUILD)/%.o: %.c $(LIB_HDRS) config.mk
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
$(BUILD)/tools/%.o: tools/%.c $(LIB_HDRS) config.mk
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
	  sh tests/run_all.sh

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" check-c
	@BUILD=build-asan ASAN=1 sh tests/run_all.sh

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
	  sh examples/demo.sh $(BUILD); \
	fi

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/wrecoil $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 include/wrecoil.h $(DESTDIR)$(INCLUDEDIR)/wrecoil.h
	install -m 644 include/wrecoil/*.h $(DESTDIR)$(INCLUDEDIR)/wrecoil/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libwrecoil.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libwrecoil.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|^prefix=.*|prefix=$(PREFIX)|' -e 's|^libdir=.*|libdir=$(LIBDIR)|' \
	  -e 's|^includedir=.*|includedir=$(INCLUDEDIR)|' pkgconfig/wrecoil.pc > $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc
	if [ -n "$(TOOL)" ]; then install -d $(DESTDIR)$(BINDIR) && \
	  $(CC) $(SAN_FLAGS) -o $(DESTDIR)$(BINDIR)/wrecoil $(TOOL_OBJS) -L$(BUILD) -lwrecoil \
	    -Wl,-rpath,$(LIBDIR) $(DEP_LIBS); fi
	install -m 644 README.md ChangeLog docs/*.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libwrecoil.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libwrecoil.so $(DESTDIR)$(LIBDIR)/libwrecoil.a \
	  $(DESTDIR)$(PKGCONFIGDIR)/wrecoil.pc $(DESTDIR)$(BINDIR)/wrecoil \
	  $(DESTDIR)$(INCLUDEDIR)/wrecoil.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/wrecoil $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan build-tsan bench/out demo-out

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache pkgconfig/wrecoil.pc
