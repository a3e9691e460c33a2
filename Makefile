# monostack — build, run and test. Targets: all, up, test, check, bench, fuzz, clean.
#   make                       build build/monostack
#   make up                    install missing packages (as root), build, start a cloud
#   make test                  unit + API (SQLite and PostgreSQL) + Tempest suites
#                              (identity, then image; every suite runs, any ratchet failure fails)
#   make check                 fast unit tests only
#   make SANITIZE=address,undefined test   the same under ASan/UBSan

CC       ?= cc
BUILD    ?= build
PKGS     := libmicrohttpd jansson sqlite3 libpq openssl libcrypt inih yaml-0.1
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation -Wno-missing-field-initializers \
            -fno-strict-aliasing -pthread -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build-san
endif

SRC      := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
TEST_SRC := $(sort $(wildcard tests/unit/*/*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/monostack
DATA_DIR ?= .monostack

.PHONY: all up test check test-api test-tempest bench fuzz clean deps
all: $(BIN)

deps:
	@scripts/deps.sh build

$(BIN): $(MAIN_OBJ) $(BUILD)/libmonostack.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libmonostack.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmonostack.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libmonostack.a $(LDLIBS) -lcmocka

up: deps all
	@tests/images/build-tiny.sh $(DATA_DIR)/tiny || echo "make up: no tiny test image (see above); the cloud starts without it"
	$(BIN) up --data-dir $(DATA_DIR)

check: $(TEST_BIN)
	@scripts/run_unit.sh $(TEST_BIN)

test:
	@scripts/deps.sh test
	$(MAKE) all check
	MONOSTACK_BIN=$(abspath $(BIN)) tests/run_api.sh
	rc=0; for svc in identity image compute; do \
	  [ $$svc = identity ] || [ $$svc = image ] || [ -f tests/tempest/$$svc.pass ] || continue; \
	  MONOSTACK_BIN=$(abspath $(BIN)) tests/tempest/run.sh $$svc || rc=1; \
	done; exit $$rc

bench: all
	MONOSTACK_BIN=$(abspath $(BIN)) bench/identity/run.sh
	MONOSTACK_BIN=$(abspath $(BIN)) bench/image/run.sh
	MONOSTACK_BIN=$(abspath $(BIN)) bench/compute/run.sh
	MONOSTACK_BIN=$(abspath $(BIN)) bench/compute/qemu.sh

fuzz:
	$(MAKE) -C fuzz

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:=.d)
