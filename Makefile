# agentprof - profiler for fleets of AI-agent processes.
#
#   make            build build/libagentprof.a, build/libagentprof.so, build/agentprof
#   make demo       run the multi-process demo through `agentprof`
#   make test       run the test suites (CUnit), the golden reports, the layer,
#                   export and link checks
#   make bench      writer and reader costs beside the physical floor
#   make help       list targets
#
# SANITIZE=address,undefined | address | undefined | thread builds everything
# with that sanitizer into build/san-<name>/. V=1 shows the commands.
#
# Layers: every folder is a floor that includes only the floors below it
# (README, "Layout"). Each object is compiled with the include path of its
# own folder's floor and nothing else (INC_<folder> below), so an include
# from a floor above does not compile; `make check-layers` says the same in
# words, and also refuses a folder's *_internal.h included from outside it.

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
SANITIZE ?=

comma := ,
BUILD := build
ifeq ($(FUZZ),1)
  # `make fuzz` builds the reader again with clang, libFuzzer's coverage and
  # ASan + UBSan, into build/fuzz/.
  CC := clang
  SANITIZE :=
  SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  BUILD := build/fuzz
endif
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
override CFLAGS += -std=c11 -D_GNU_SOURCE -pthread -fvisibility=hidden $(WARN) $(SAN_FLAGS) -MMD -MP
override LDFLAGS += -pthread $(SAN_FLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The floors, bottom up, and what each may include (its own folder first).
INC_shm             := -Ishm
INC_writer-lib      := -Iwriter-lib -Iwriter-lib/include -Ishm
INC_reader/common   := -Ireader/common -Ishm
INC_reader/io       := -Ireader/io -Ireader/common -Ishm
INC_reader/ingest   := -Ireader/ingest -Ireader/common -Iwriter-lib/include -Ishm
INC_reader/analysis := -Ireader/analysis -Ireader/ingest -Ireader/common -Iwriter-lib/include -Ishm
INC_reader/log      := -Ireader/log -Ireader/analysis -Ireader/ingest -Ireader/io -Ireader/common \
	-Iwriter-lib/include -Ishm
INC_reader/render   := -Ireader/render -Ireader/analysis -Ireader/ingest -Ireader/common \
	-Iwriter-lib/include -Ishm
INC_reader/session  := -Ireader/session -Ireader/log -Ireader/render -Ireader/analysis -Ireader/ingest \
	-Ireader/io -Ireader/common -Iwriter-lib/include -Ishm
INC_reader/cmd      := -Ireader/cmd $(INC_reader/session)
INC_writer-lib/python := -Iwriter-lib/python -Iwriter-lib/include
LAYERS := shm writer-lib writer-lib/python reader/common reader/io reader/ingest reader/analysis reader/log \
	reader/render reader/session reader/cmd
# Tests and benches see everything, writer internals included.
INC_tests           := -Itests/support -Ireader/cmd $(INC_reader/session) -Iwriter-lib
INC_bench           := $(INC_tests)
# The include path of the folder a source file is in (tests/x/y.c: tests).
inc_of = $(if $(filter tests/%,$(1)),$(INC_tests),$(if $(filter bench/%,$(1)),$(INC_bench),$(INC_$(patsubst %/,%,$(dir $(1))))))

READER_DIRS := common io ingest analysis log render session cmd
LIB_SRC    := $(wildcard shm/*.c) $(wildcard writer-lib/*.c)
READER_SRC := $(filter-out reader/cmd/main.c,$(foreach d,$(READER_DIRS),$(wildcard reader/$(d)/*.c)))
TEST_SRC   := $(wildcard tests/unit/*.c tests/multiproc/*.c tests/program/*.c) \
	$(filter-out tests/support/tp_child.c tests/support/link_example.c,$(wildcard tests/support/*.c))
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
DL_PLUGIN  := $(BUILD)/test-dl-plugin.so

.PHONY: soak soak-short all deps demo test test-loop consumers consumers-selftest check-export check-otlp check check-exports check-link check-layers print-layers check-golden check-hostile check-fuzz-regress fuzz fuzz-bins golden \
	bench bench-build bench-quick clean help

all: $(STATIC_LIB) $(BUILD)/libagentprof.so $(AGENTPROF) ## build the libraries and the agentprof program

# Debian's packages for the Python module and its tests (writer-lib/python/).
PY_DEPS := /usr/bin/python3-config:python3-dev /usr/lib/python3/dist-packages/pytest/__init__.py:python3-pytest \
	/usr/lib/python3/dist-packages/pytest_asyncio/__init__.py:python3-pytest-asyncio

# Debian packages the build needs. As root, missing ones are installed; else
# the exact apt-get line is printed and the build stops.
DEPS := /usr/include/liburing.h:liburing-dev /usr/include/xxhash.h:libxxhash-dev \
	/usr/include/CUnit/Basic.h:libcunit1-dev /usr/include/jansson.h:libjansson-dev /usr/include/zlib.h:zlib1g-dev \
	/usr/include/x86_64-linux-gnu/curl/curl.h:libcurl4-openssl-dev $(PY_DEPS)
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
	$(Q)$(CC) $(CFLAGS) $(call inc_of,$<) -c $< -o $@

$(BUILD)/obj/pic/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC PIC  $<")
	$(Q)$(CC) $(CFLAGS) $(call inc_of,$<) -fPIC -c $< -o $@

$(BUILD)/obj/hook/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC HOOK $<")
	$(Q)$(CC) $(CFLAGS) $(call inc_of,$<) -DAP_TEST_HOOKS -c $< -o $@

# Tests: the hook that forces a signal mid-write, and argv arrays of literals.
$(BUILD)/obj/test/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC TEST $<")
	$(Q)$(CC) $(CFLAGS) $(INC_tests) -DAP_TEST_HOOKS -Wno-write-strings -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(PIC_OBJ) writer-lib/libagentprof.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libagentprof.so.1 -Wl,--version-script=writer-lib/libagentprof.map \
		-Wl,-z,defs $(LDFLAGS) $(PIC_OBJ) -o $@

$(BUILD)/libagentprof.so: $(SHARED_LIB)
	$(Q)ln -sf libagentprof.so.1 $@

# What every program linking the reader's objects needs, in one place.
READER_LIBS := -luring -ljansson -lz -lcurl -lm

$(AGENTPROF): $(BUILD)/obj/lib/reader/cmd/main.o $(READER_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(READER_LIBS) -o $@

$(TESTS): $(TEST_OBJ) $(READER_OBJ) $(HOOK_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $^ -lcunit $(READER_LIBS) -o $@

$(TP_CHILD): tests/support/tp_child.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) -Iwriter-lib/include $< $(STATIC_LIB) $(LDFLAGS) -o $@

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

# A program links with nothing more than the header and the static library;
# compiled with -DAGENTPROF_DISABLE it links with no library at all.
check-link: $(STATIC_LIB) ## a C program links with -Iwriter-lib/include libagentprof.a -lpthread
	$(Q)$(CC) -std=c11 -O2 $(SAN_FLAGS) -Iwriter-lib/include tests/support/link_example.c $(STATIC_LIB) -lpthread \
		-o $(BUILD)/link_example
	$(Q)out=$$(env -u AGENTPROF_SHM $(BUILD)/link_example) && [ "$$out" = "link ok" ] || \
		{ echo "check-link: unexpected output '$$out'" >&2; exit 1; }
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -DAGENTPROF_DISABLE -Iwriter-lib/include \
		tests/support/link_example.c -o $(BUILD)/link_example_off
	$(Q)out=$$(AGENTPROF_SHM=/nonexistent $(BUILD)/link_example_off) && [ "$$out" = "link ok" ] || \
		{ echo "check-link: AGENTPROF_DISABLE: unexpected output '$$out'" >&2; exit 1; }
	$(Q)! nm $(BUILD)/link_example_off | grep -q ' U ap_' || \
		{ echo "check-link: AGENTPROF_DISABLE still calls into the library" >&2; exit 1; }
	@echo "check-link: ok (static library; AGENTPROF_DISABLE compiles every call out)"

# Floors include only the floors below them (tests/layers/check.sh), and the
# check itself fails on a planted upward include.
check-layers: ## no include from a floor above, nor of another folder's internals
	$(Q)tests/layers/check.sh .
	$(Q)tests/layers/planted.sh

print-layers: # the floors and the folders each may include, for check-layers
	@$(foreach l,$(LAYERS),echo "$(l): $(patsubst -I%,%,$(INC_$(l)))";)

# The golden event logs replay to the reports recorded with them.
check-golden: $(AGENTPROF) ## the golden logs' reports are unchanged
	$(Q)tests/golden/check.sh $(AGENTPROF)

golden: $(AGENTPROF) ## regenerate the golden reports (a change that means to change them)
	$(Q)GOLDEN_UPDATE=1 tests/golden/check.sh $(AGENTPROF)

# Hostile inputs (tests/hostile/): well-formed files with hostile values.
check-hostile: $(AGENTPROF) $(STATIC_LIB) ## hostile logs, report.json files and names get what they should
	$(Q)CC='$(CC)' SAN_FLAGS='$(SAN_FLAGS)' tests/hostile/check.sh $(BUILD)

# Fuzzing (tests/fuzz/): a libFuzzer harness for every reader of untrusted
# bytes, each running the whole path a user's command runs, rendering
# included, into sinks held to the reports' size bounds. make test replays
# the seeds and every input that ever crashed (tests/fuzz/regress/) through
# the harnesses built with $(CC) and a small driver; make fuzz runs them
# under libFuzzer (clang) for FUZZ_S seconds each.
FUZZ_HARNESSES := log segment diff models
FUZZ_S ?= 60
FUZZ_SUPPORT := tests/fuzz/sink.c
FUZZ_LIBS := $(READER_LIBS)

$(BUILD)/fuzz-replay-%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(FUZZ_SUPPORT) $(READER_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(INC_tests) -Itests/fuzz $(filter %.c %.o %.a,$^) $(LDFLAGS) $(FUZZ_LIBS) -o $@

check-fuzz-regress: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz-replay-%) ## replay the fuzz seeds and every input that ever crashed
	$(Q)for h in $(FUZZ_HARNESSES); do \
	  $(BUILD)/fuzz-replay-$$h tests/fuzz/corpus/$$h tests/fuzz/regress/$$h >/dev/null 2>$(BUILD)/fuzz-replay-$$h.err || \
	    { echo "check-fuzz-regress: $$h failed:" >&2; tail -20 $(BUILD)/fuzz-replay-$$h.err >&2; exit 1; }; \
	done; echo "check-fuzz-regress: ok ($(FUZZ_HARNESSES): seeds and past findings)"

$(BUILD)/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_SUPPORT) $(READER_OBJ) $(STATIC_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(INC_tests) -Itests/fuzz -fsanitize=fuzzer $(filter %.c %.o %.a,$^) $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_LIBS) -o $@

fuzz-bins: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz-%)

fuzz: ## build the libFuzzer harnesses (clang) and run each for FUZZ_S seconds (60)
	@if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "fuzz: installing clang libclang-rt-dev (libFuzzer)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null || exit 1; \
	  else \
	    echo "fuzz: clang and libFuzzer are needed; run as root: apt-get install -y clang libclang-rt-dev" >&2; exit 1; \
	  fi; \
	fi
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
	$(Q)for h in $(FUZZ_HARNESSES); do \
	  mkdir -p build/fuzz/corpus-$$h build/fuzz/crashes && cp -n tests/fuzz/corpus/$$h/* build/fuzz/corpus-$$h/ 2>/dev/null; \
	  echo "== fuzz $$h for $(FUZZ_S) s"; \
	  build/fuzz/fuzz-$$h -max_total_time=$(FUZZ_S) -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/crashes/$$h- build/fuzz/corpus-$$h 2>build/fuzz/$$h.log || \
	    { tail -40 build/fuzz/$$h.log >&2; echo "fuzz: $$h found a crash: build/fuzz/crashes/ (copy it into tests/fuzz/regress/$$h/)" >&2; exit 1; }; \
	  grep -E '^stat::|cov:' build/fuzz/$$h.log | tail -8; \
	done

TEST_ENV = AP_TP_CHILD=$(abspath $(TP_CHILD)) AP_AGENTPROF=$(abspath $(AGENTPROF)) \
	AP_DL_PLUGIN=$(abspath $(DL_PLUGIN))

test: all $(TESTS) $(TP_CHILD) $(DL_PLUGIN) check-layers check-exports check-link check-golden check-hostile check-fuzz-regress check-export check-otlp ## run every test suite
	$(Q)$(TEST_ENV) $(TESTS) -q $(SUITES)
	$(Q)$(if $(SUITES),,$(MAKE) --no-print-directory check-python)

# Repeat the suites N times (default 20) to find flakes; stops at the first
# failing round and says which.
N ?= 20
test-loop: all $(TESTS) $(TP_CHILD) $(DL_PLUGIN) ## run the suites N times (N=20), stop at the first failure
	$(Q)for i in $$(seq 1 $(N)); do \
	  $(TEST_ENV) $(TESTS) -q $(SUITES) || { echo "test-loop: round $$i of $(N) failed" >&2; exit 1; }; \
	  echo "test-loop: round $$i of $(N) passed"; \
	done

check: test

# The real consumers of the exports (Chromium, xmllint, pprof, the npm
# packages pinned in tests/consumers/package-lock.json), installed where
# they can be; the export tests skip, counted, where they are missing.
consumers: ## install the consumers of the exports (Debian packages as root, npm ci, pprof)
	$(Q)tests/consumers/setup.sh

consumers-selftest: consumers ## the consumer scripts accept good samples and refuse broken ones
	$(Q)tests/consumers/test_all.sh

# The exports a report writes, each read by its real consumer (the DevTools
# trace engine, speedscope in Chromium, pprof, Chromium and xmllint for
# report.html): tests/export/check.sh. Without the consumers its checks are
# reported as skipped, with their count.
check-export: $(AGENTPROF) $(STATIC_LIB) ## every export loads in the program that reads it
	$(Q)CC='$(CC)' SAN_FLAGS='$(SAN_FLAGS)' tests/export/check.sh $(BUILD)

# OTLP (tests/otlp/): the exporters tested by the official schema and a real
# OTLP/HTTP receiver (tests/consumers/otlp_*.mjs); skipped, and said so,
# where node or the consumers are missing (make consumers).
$(BUILD)/otlp-jsonl: tests/otlp/render_jsonl.c $(READER_OBJ) $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_tests) $(filter %.c %.o %.a,$^) $(LDFLAGS) $(READER_LIBS) -o $@

$(BUILD)/otlp-hop: tests/otlp/hop.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) -Iwriter-lib/include $< $(STATIC_LIB) $(LDFLAGS) -o $@

check-otlp: $(AGENTPROF) $(BUILD)/otlp-jsonl $(BUILD)/otlp-hop $(TP_CHILD) ## OTLP export and sender against the real schema and receiver
	$(Q)CC='$(CC)' SAN_FLAGS='$(SAN_FLAGS)' tests/otlp/check.sh $(BUILD)

BENCH_BIN := $(BUILD)/bench-writer
$(BENCH_BIN): bench/bench_writer.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(STATIC_LIB) $(LDFLAGS) -lm -o $@

$(BUILD)/bench-reader: bench/bench_reader.c $(READER_OBJ) $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(READER_OBJ) $(STATIC_LIB) $(LDFLAGS) $(READER_LIBS) -o $@

$(BUILD)/bench-otlp: bench/bench_otlp.c $(READER_OBJ) $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(READER_OBJ) $(STATIC_LIB) $(LDFLAGS) $(READER_LIBS) -o $@

$(BUILD)/bench-timeout: bench/bench_timeout.c $(READER_OBJ) $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(READER_OBJ) $(STATIC_LIB) $(LDFLAGS) $(READER_LIBS) -o $@

$(BUILD)/bench-rate: bench/bench_rate.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(STATIC_LIB) $(LDFLAGS) -o $@

$(BUILD)/bench-scale: bench/bench_scale.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(STATIC_LIB) $(LDFLAGS) -o $@

$(BUILD)/bench-fleet: bench/bench_fleet.c $(BUILD)/obj/lib/reader/cmd/workload.o $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(BUILD)/obj/lib/reader/cmd/workload.o $(STATIC_LIB) $(LDFLAGS) -o $@

# LTTng-UST's tracepoint macros are not clean under our warning set: plain flags.
# bench/run.sh builds it once liblttng-ust-dev is there (installing it as root).
$(BUILD)/bench-lttng: bench/bench_lttng.c bench/lttng_tp.h
	$(Q)$(CC) -std=gnu11 -O2 -Ibench $< -llttng-ust -ldl -o $@

# A fleet that runs for a while: workers and readers killed, restarted and
# started in any order, and one accounting check per worker at the end.
SOAK_S ?= 600
$(BUILD)/soak: bench/soak.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(STATIC_LIB) $(LDFLAGS) -ljansson -o $@

soak: $(AGENTPROF) $(BUILD)/soak ## the fleet soak for SOAK_S seconds (600) at about 1 M spans/s; not part of make test
	$(Q)$(BUILD)/soak --agentprof $(AGENTPROF) --seconds $(SOAK_S) --out $(BUILD)/soak-out

soak-short: $(AGENTPROF) $(BUILD)/soak ## the soak for 30 s at 200 k spans/s (CI)
	$(Q)$(BUILD)/soak --agentprof $(AGENTPROF) --seconds 30 --rate 200000 --out $(BUILD)/soak-short-out

BENCH_ALL := $(AGENTPROF) $(BENCH_BIN) $(BUILD)/bench-reader $(BUILD)/bench-rate $(BUILD)/bench-scale \
	$(BUILD)/bench-fleet $(BUILD)/bench-timeout $(BUILD)/bench-otlp

# The pair as a user sees it (default lanes, reader draining, bursts and
# steady streams, two floors), and from a dlopen'd object through
# libagentprof.so.1 (bench/plugin.c).
$(BUILD)/bench-pair: bench/bench_pair.c $(STATIC_LIB)
	$(Q)$(CC) $(CFLAGS) $(INC_bench) $< $(STATIC_LIB) $(LDFLAGS) -ldl -lpthread -o $@

$(BUILD)/bench-plugin.so: bench/plugin.c $(SHARED_LIB) $(BUILD)/libagentprof.so
	$(Q)$(CC) $(CFLAGS) -Iwriter-lib/include -fPIC -shared $< -L$(BUILD) -lagentprof \
		-Wl,-rpath,'$$ORIGIN' $(LDFLAGS) -o $@

BENCH_ALL += $(BUILD)/bench-pair $(BUILD)/bench-plugin.so

# A test loads this with dlopen: libagentprof.so.1 inside a run-time object.
$(DL_PLUGIN): tests/dl/plugin.c $(SHARED_LIB) $(BUILD)/libagentprof.so
	$(Q)$(CC) $(CFLAGS) -Iwriter-lib/include -fPIC -shared $< -L$(BUILD) -lagentprof \
		-Wl,-rpath,'$$ORIGIN' $(LDFLAGS) -o $@

bench: $(BENCH_ALL) python ## writer, reader, LTTng-UST, fleet, scale, memory: medians of 5+ runs (about 10 min)
	$(Q)bench/run.sh $(BUILD)

bench-build: $(BENCH_ALL) ## build (link) every bench program without running it
	@echo "bench-build: ok ($(words $(BENCH_ALL)) programs)"

bench-quick: $(BENCH_ALL) python ## a subset of the bench in under 60 s
	$(Q)QUICK=1 bench/run.sh $(BUILD)

clean: ## remove build/
	rm -rf build

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

-include $(shell find build -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------------------
# Python: the _agentprof extension over libagentprof.so.1 and the agentprof
# package, built into build/python (PYTHONPATH=build/python python3 -c
# 'import agentprof'); the tests under tests/python/ run by `make test` after
# the C suites. PYTHON names the interpreter (it needs its headers: Debian's
# python3-dev). The extension finds libagentprof.so.1 beside build/python
# through its rpath ($ORIGIN/../..). Under SANITIZE the Python tests are
# skipped, said so: an uninstrumented interpreter cannot load a sanitized
# extension.
PYTHON ?= /usr/bin/python3
PY_INC = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PY_EXT = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
PY_PKG := $(wildcard writer-lib/python/agentprof/*.py writer-lib/python/agentprof/*.pyi writer-lib/python/agentprof/py.typed)
PY_OUT := $(BUILD)/python/agentprof
PY_CFLAGS := -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-cast-function-type
PY_TEST_EXT := $(BUILD)/python-test/apcext.so

.PHONY: python check-python
python: $(SHARED_LIB) $(BUILD)/libagentprof.so ## build the Python module into build/python
	@[ -f "$(PY_INC)/Python.h" ] || { echo "python: no Python.h for $(PYTHON): apt-get install -y python3-dev" >&2; exit 1; }
	@mkdir -p $(PY_OUT)
	$(Q)$(CC) $(PY_CFLAGS) $(SAN_FLAGS) -I$(PY_INC) -Iwriter-lib/include writer-lib/python/_agentprof.c -shared \
		-L$(BUILD) -l:libagentprof.so.1 -Wl,-rpath,'$$ORIGIN/../..' -o $(PY_OUT)/_agentprof$(PY_EXT)
	$(Q)cp $(PY_PKG) $(PY_OUT)/

# A C extension recording with the C API (ap_begin), for the test of a C
# span inside a Python span: the same libagentprof.so.1, one writer state.
$(PY_TEST_EXT): tests/python/apcext.c $(SHARED_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(PY_CFLAGS) $(SAN_FLAGS) -I$(PY_INC) -Iwriter-lib/include $< -shared \
		-L$(BUILD) -l:libagentprof.so.1 -Wl,-rpath,'$$ORIGIN/..' -o $@

check-python: all python $(PY_TEST_EXT) ## the Python tests (pytest) under agentprof record
	$(Q)if [ -n "$(SAN_FLAGS)" ]; then echo "check-python: skipped under SANITIZE (the interpreter is not instrumented)"; exit 0; fi; \
	$(PYTHON) -c 'import pytest' 2>/dev/null || { echo "check-python: no pytest for $(PYTHON): make deps (as root), or apt-get install -y python3-pytest" >&2; exit 1; }; \
	AP_AGENTPROF=$(abspath $(AGENTPROF)) AP_PYTHONPATH=$(abspath $(BUILD)/python) \
	AP_PY_TEST_EXT=$(abspath $(BUILD)/python-test) \
	PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) -m pytest -q -p no:cacheprovider tests/python; rc=$$?; \
	if [ $$rc = 5 ]; then echo "check-python: pytest collected no tests" >&2; exit 1; fi; exit $$rc
