# dealdesk and marketd: one plain Makefile.
#
#   make            build dealdesk and marketd into build/
#   make test       the whole suite (unit, integration against a real marketd, e2e in a pty)
#   make asan       the same suite under AddressSanitizer and UndefinedBehaviorSanitizer
#   make demo       marketd with a simulated fleet, dealdesk attached
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each
#   make bench      the benchmarks (prints a table of measured figures)
#   make bench-scale  the console against a 1M-thread market (a cached fixture; long)
#   make deps       install the Debian packages the build needs (apt-get as root)
#
# Sources are found by wildcard: a new file in a folder is built without editing this.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKG_CONFIG ?= pkg-config
FUZZ_SECONDS ?= 60
WERROR  ?= $(if $(filter true,$(CI)),1,0)

PKGS := ncursesw libcurl jansson libmicrohttpd sqlite3 libcrypto libpq

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wundef -Wcast-qual -Wwrite-strings -Wpointer-arith
ifeq ($(WERROR),1)
WARN += -Werror
endif

SAN_FLAGS :=
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

OPT      ?= -O2
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -I. -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -MMD -MP
CFLAGS   ?= -g $(OPT)
CFLAGS   += -std=c11 $(WARN) $(SAN_FLAGS) $(PKG_CFLAGS)
LDFLAGS  += $(SAN_FLAGS)
LDLIBS   += $(PKG_LIBS) -lreadline -lpthread -lm

# ---- sources --------------------------------------------------------------

API_SRC     := $(sort $(wildcard api/*.c))
THEMES_SRC  := $(sort $(wildcard themes/*.c))
WIDGETS_SRC := $(sort $(wildcard widgets/*.c))
TUI_SRC     := $(filter-out tui/main.c,$(sort $(wildcard tui/*.c)))
MARKETD_SRC := $(filter-out marketd/main.c,$(sort $(wildcard marketd/*.c)))
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC   := $(sort $(wildcard tests/integration/test_*.c))
E2E_SRC     := $(sort $(wildcard tests/e2e/test_*.c))
BENCH_SRC   := $(filter-out tests/bench/bench_scale.c,$(sort $(wildcard tests/bench/bench_*.c)))
SCALE_SRC   := tests/bench/bench_scale.c $(sort $(wildcard tests/bench/scale/*.c))
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBAPI     := $(BUILD)/libapi.a
LIBUI      := $(BUILD)/libui.a
LIBMARKETD := $(BUILD)/libmarketd.a
LIBTEST    := $(BUILD)/libtest.a

DEALDESK := $(BUILD)/dealdesk
MARKETD  := $(BUILD)/marketd
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC) $(INTEG_SRC) $(E2E_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
SCALE_BIN  := $(BUILD)/bench/bench_scale

ALL_OBJ := $(call obj,$(API_SRC) $(THEMES_SRC) $(WIDGETS_SRC) $(TUI_SRC) tui/main.c \
             $(MARKETD_SRC) marketd/main.c $(TESTLIB_SRC) $(UNIT_SRC) $(INTEG_SRC) $(E2E_SRC) $(BENCH_SRC) \
             $(SCALE_SRC))

.PHONY: all deps test test-build asan demo fuzz fuzz-deps fuzz-run bench bench-scale soak check-layers format format-check \
        install uninstall clean
.DEFAULT_GOAL := all

all: $(DEALDESK) $(MARKETD)

# V=1 shows the commands.
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBAPI): $(call obj,$(API_SRC))
$(LIBUI): $(call obj,$(THEMES_SRC) $(WIDGETS_SRC) $(TUI_SRC))
$(LIBMARKETD): $(call obj,$(MARKETD_SRC))
$(LIBTEST): $(call obj,$(TESTLIB_SRC))
$(LIBAPI) $(LIBUI) $(LIBMARKETD) $(LIBTEST):
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(if $^,ar rcs $@ $^,ar rcs $@)

$(DEALDESK): $(call obj,tui/main.c) $(LIBUI) $(LIBAPI)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(MARKETD): $(call obj,marketd/main.c) $(LIBMARKETD) $(LIBAPI)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every test binary links the whole code base (archives: only what it uses is pulled in).
TEST_LIBS = $(LIBTEST) $(LIBUI) $(LIBMARKETD) $(LIBAPI)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lvterm -lutil

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lvterm -lutil

test-build: all $(TEST_BINS)

# The suite: tests/run.sh runs every test binary and ends with "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory test-build
	@BUILD=$(BUILD) tests/run.sh $(TEST_BINS)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 OPT=-O1 test-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  BUILD=build/asan SAN=1 tests/run.sh $(patsubst $(BUILD)/%,build/asan/%,$(TEST_BINS))

deps:
	@tools/deps.sh

demo: deps all
	$(DEALDESK) --demo

bench: all $(BENCH_BINS)
	@tools/deps.sh bench
	@BUILD=$(BUILD) tests/bench/run.sh $(BENCH_BINS)

# The console against a market of 1M listings and threads, 10M messages and ledger entries
# (issue 14; docs/benchmarks.md): minutes to make the fixture the first time (cached in
# $(BUILD)/bench-scale/), then a 30-minute flood (BENCH_SCALE_FLOOD_S). Never part of
# `make bench` or `make test`. BENCH_SCALE_ARGS picks parts: frame flood keys tail.
$(SCALE_BIN): $(call obj,$(SCALE_SRC)) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lvterm -lutil

bench-scale: all $(SCALE_BIN)
	@tools/deps.sh bench scale
	@BUILD=$(BUILD) tests/bench/scale/run.sh $(SCALE_BIN) $(BENCH_SCALE_ARGS)

# The long runs: every *soak, *faults and test_faults_* binary with SOAK=1 (100 server
# faults, 200 proxied decisions, 300 killed dealdesks, ...); tests/soak/README.md.
SOAK_BINS = $(filter %soak %faults,$(TEST_BINS)) $(foreach b,$(TEST_BINS),$(if $(findstring /test_faults_,$(b)),$(b)))
soak: all $(TEST_BINS)
	@BUILD=$(BUILD) SOAK=1 TEST_TIMEOUT=$${TEST_TIMEOUT:-7200} tests/run.sh $(sort $(SOAK_BINS))

# ---- fuzzing (clang + libFuzzer) ------------------------------------------

FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -g -O1 -std=c11 -fsanitize=fuzzer-no-link,address,undefined -I. \
               -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(PKG_CFLAGS)
FUZZ_LIB_SRC := $(API_SRC) $(MARKETD_SRC)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

FUZZ_LIBAPI := $(FUZZ_BUILD)/libapi.a
FUZZ_LIBMARKETD := $(FUZZ_BUILD)/libmarketd.a
$(FUZZ_LIBAPI): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(API_SRC))
$(FUZZ_LIBMARKETD): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(MARKETD_SRC))
$(FUZZ_LIBAPI) $(FUZZ_LIBMARKETD):
	@rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_LIBMARKETD) $(FUZZ_LIBAPI)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -lpthread -lm

.SECONDARY:

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-deps:
	@tools/deps.sh fuzz

fuzz-run: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh $(FUZZ_BINS)

# ---- checks ---------------------------------------------------------------

check-layers:
	@tools/check-layers.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@tools/deps.sh check
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "format-check: ok"

# ---- install --------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	           $(DESTDIR)$(PREFIX)/share/dealdesk/themes
	install -m 755 $(DEALDESK) $(MARKETD) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(wildcard docs/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	$(if $(wildcard themes/*.theme),install -m 644 $(wildcard themes/*.theme) $(DESTDIR)$(PREFIX)/share/dealdesk/themes/)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dealdesk $(DESTDIR)$(PREFIX)/bin/marketd
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/dealdesk.1 $(DESTDIR)$(PREFIX)/share/man/man1/marketd.1
	rm -rf $(DESTDIR)$(PREFIX)/share/dealdesk

clean:
	rm -rf build

-include $(ALL_OBJ:.o=.d)
