# agentprof - profiler for fleets of AI-agent processes.
#
#   make            build build/libagentprof.a, build/libagentprof.so, build/agentprof
#   make demo       run the multi-process demo through `agentprof`
#   make test       run the test suites (CUnit) and the export and link checks
#   make bench      writer and reader costs beside the physical floor
#   make help       list targets
#
# SANITIZE=address,undefined | address | undefined | thread builds everything
# with that sanitizer into build/san-<name>/. V=1 shows the commands.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
SANITIZE ?=

comma := ,
BUILD := build
ifneq ($(strip $(SANITIZE)),)
  san_words := $(subst $(comma), ,$(SANITIZE))
  ifneq ($(filter-out address undefined thread,$(san_words)),)
    $(error SANITIZE='$(SANITIZE)': use address, undefined, address$(comma)undefined or thread)
  endif
  ifneq ($(and $(filter thread,$(san_words)),$(filter address,$(san_words))),)
    $(error SANITIZE='$(SANITIZE)': thread cannot be combined with address)
  endif
  SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
  BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
endif

WARN := -Wall -Wextra -Wshadow -Wcast-align -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wvla -Wformat=2 -Wpointer-arith -Wundef -Wwrite-strings \
	-Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter \
	-Werror=implicit-function-declaration
override CFLAGS += -std=c11 -D_GNU_SOURCE -pthread -fvisibility=hidden $(WARN) $(SAN_FLAGS) \
	-MMD -MP -Ishm -Iwriter-lib/include -Iwriter-lib -Ireader
override LDFLAGS += -pthread $(SAN_FLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC    := shm/segment.c shm/clock.c writer-lib/writer.c
READER_SRC := $(filter-out reader/main.c,$(wildcard reader/*.c))
TEST_SRC   := $(filter-out tests/tp_child.c tests/link_example.c,$(wildcard tests/*.c))
BENCH_SRC  := $(wildcard bench/*.c)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/lib/%.o)
PIC_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/pic/%.o)
HOOK_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/hook/%.o)
READER_OBJ := $(READER_SRC:%.c=$(BUILD)/obj/lib/%.o)
TEST_OBJ   := $(TEST_SRC:%.c=$(BUILD)/obj/test/%.o)

STATIC_LIB := $(BUILD)/libagentprof.a
SHARED_LIB := $(BUILD)/libagentprof.so.1
AGENTPROF  := $(BUILD)/agentprof
TESTS      := $(BUILD)/agentprof-tests
TP_CHILD   := $(BUILD)/tp_child

.PHONY: all deps demo test check check-exports check-link check-golden golden bench bench-quick clean help

all: $(STATIC_LIB) $(BUILD)/libagentprof.so $(AGENTPROF) ## build the libraries and the agentprof program

# Debian packages the build needs. As root, missing ones are installed; else
# the exact apt-get line is printed and the build stops.
DEPS := /usr/include/liburing.h:liburing-dev /usr/include/xxhash.h:libxxhash-dev \
	/usr/include/CUnit/Basic.h:libcunit1-dev /usr/include/jansson.h:libjansson-dev
deps: ## install missing Debian -dev packages (as root), or print the command
	@missing=""; for d in $(DEPS); do [ -f "$${d%%:*}" ] || missing="$$missing $${d#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "agentprof: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "agentprof: missing packages; run as root: apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	fi

$(BUILD)/obj/lib/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/pic/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/obj/hook/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC HOOK $<")
	$(Q)$(CC) $(CFLAGS) -DAP_TEST_HOOKS -c $< -o $@

# Tests: the hook that forces a signal mid-write, and argv arrays of literals.
$(BUILD)/obj/test/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC TEST $<")
	$(Q)$(CC) $(CFLAGS) -DAP_TEST_HOOKS -Wno-write-strings -Itests -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(PIC_OBJ) writer-lib/libagentprof.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libagentprof.so.1 -Wl,--version-script=writer-lib/libagentprof.map \
		-Wl,-z,defs $(LDFLAGS) $(PIC_OBJ) -o $@

$(BUILD)/libagentprof.so: $(SHARED_LIB)
	$(Q)ln -sf libagentprof.so.1 $@

$(AGENTPROF): $(BUILD)/obj/lib/reader/main.o $(READER_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ -luring -ljansson -lm -o $@

$(TESTS): $(TEST_OBJ) $(READER_OBJ) $(HOOK_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ -lcunit -luring -ljansson -lm -o $@

$(TP_CHILD): tests/tp_child.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(STATIC_LIB) $(LDFLAGS) -o $@

demo: $(AGENTPROF) ## run the demo: 4 worker processes under `agentprof demo`
	$(AGENTPROF) demo -o $(BUILD)/demo-out

# The exported surface: only ap_ symbols, in the .so and in the .a.
check-exports: $(STATIC_LIB) $(SHARED_LIB) ## only ap_* symbols are exported
	@bad=$$(nm -D --defined-only $(SHARED_LIB) | awk '{print $$3}' | grep -v '^AGENTPROF_' | grep -v '^ap_'); \
	if [ -n "$$bad" ]; then echo "check-exports: $(SHARED_LIB) exports: $$bad" >&2; exit 1; fi; \
	bad=$$(nm -g --defined-only $(STATIC_LIB) | awk 'NF==3 {print $$3}' | grep -v '^ap_' | \
		grep -Ev '^(__odr_asan[.]|___?asan|__tsan|__ubsan)'); \
	if [ -n "$$bad" ]; then echo "check-exports: $(STATIC_LIB) defines: $$bad" >&2; exit 1; fi; \
	for s in $$(nm -D --defined-only $(SHARED_LIB) | awk '$$3 ~ /^ap_/ {print $$3}' | sed 's/@.*//'); do \
	  grep -Eq "AP_API.*\b$$s\b" writer-lib/include/agentprof.h || \
	    { echo "check-exports: $$s is exported but not declared AP_API in agentprof.h" >&2; exit 1; }; \
	done; \
	echo "check-exports: ok ($$(nm -D --defined-only $(SHARED_LIB) | grep -c ' ap_') symbols, all ap_*)"

# A program links with nothing more than the header and the static library.
check-link: $(STATIC_LIB) ## a C program links with -Iwriter-lib/include libagentprof.a -lpthread
	$(Q)$(CC) -std=c11 -O2 $(SAN_FLAGS) -Iwriter-lib/include tests/link_example.c $(STATIC_LIB) -lpthread \
		-o $(BUILD)/link_example
	$(Q)out=$$(env -u AGENTPROF_SHM $(BUILD)/link_example) && [ "$$out" = "link ok" ] || \
		{ echo "check-link: unexpected output '$$out'" >&2; exit 1; }
	@echo "check-link: ok"

# The golden event logs replay to the reports recorded with them.
check-golden: $(AGENTPROF) ## the golden logs' reports are unchanged
	$(Q)tests/golden/check.sh $(AGENTPROF)

golden: $(AGENTPROF) ## regenerate the golden reports (a change that means to change them)
	$(Q)GOLDEN_UPDATE=1 tests/golden/check.sh $(AGENTPROF)

test: all $(TESTS) $(TP_CHILD) check-exports check-link check-golden ## run every test suite
	$(Q)AP_TP_CHILD=$(abspath $(TP_CHILD)) AP_AGENTPROF=$(abspath $(AGENTPROF)) timeout 900 $(TESTS) $(SUITES)

check: test

BENCH_BIN := $(BUILD)/bench-writer
$(BENCH_BIN): bench/bench_writer.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(STATIC_LIB) $(LDFLAGS) -lm -o $@

$(BUILD)/bench-reader: bench/bench_reader.c $(READER_OBJ) $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(READER_OBJ) $(STATIC_LIB) $(LDFLAGS) -luring -ljansson -lm -o $@

$(BUILD)/bench-rate: bench/bench_rate.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(STATIC_LIB) $(LDFLAGS) -o $@

$(BUILD)/bench-scale: bench/bench_scale.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(STATIC_LIB) $(LDFLAGS) -o $@

$(BUILD)/bench-fleet: bench/bench_fleet.c $(BUILD)/obj/lib/reader/demo.o $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/obj/lib/reader/demo.o $(STATIC_LIB) $(LDFLAGS) -o $@

# LTTng-UST's tracepoint macros are not clean under our warning set: plain flags.
# bench/run.sh builds it once liblttng-ust-dev is there (installing it as root).
$(BUILD)/bench-lttng: bench/bench_lttng.c bench/lttng_tp.h
	$(Q)$(CC) -std=gnu11 -O2 -Ibench $< -llttng-ust -ldl -o $@

BENCH_ALL := $(AGENTPROF) $(BENCH_BIN) $(BUILD)/bench-reader $(BUILD)/bench-rate $(BUILD)/bench-scale \
	$(BUILD)/bench-fleet

bench: $(BENCH_ALL) ## writer, reader, LTTng-UST, fleet, scale, memory: medians of 5+ runs (about 10 min)
	$(Q)bench/run.sh $(BUILD)

bench-quick: $(BENCH_ALL) ## a subset of the bench in under 60 s
	$(Q)QUICK=1 bench/run.sh $(BUILD)

clean: ## remove build/
	rm -rf build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

-include $(shell find build -name '*.d' 2>/dev/null)
