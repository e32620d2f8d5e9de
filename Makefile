# PGXS build of the retention extension (C++17).
#
#   make && make install && make installcheck && make prove
#
# The extension script is concatenated from src/sql/ in the explicit order below.
# src/sql/released/ holds the frozen install scripts of released versions, src/sql/updates/ the
# hand-written upgrade scripts.

EXTENSION = retention
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" retention.control)

MODULE_big = retention
SRCS := $(sort $(wildcard src/*.cpp src/*/*.cpp))
OBJS = $(SRCS:.cpp=.o)

SQL_SOURCES = \
	src/sql/schemas.sql \
	src/sql/catalog.sql \
	src/sql/purge_log.sql \
	src/sql/policy_functions.sql \
	src/sql/run_functions.sql \
	src/sql/holds.sql \
	src/sql/views.sql \
	src/sql/grants.sql

DATA_built = retention--$(EXTVERSION).sql
# Released install scripts are frozen copies (never regenerated), installed beside the current
# one so that `CREATE EXTENSION retention VERSION '0.1.0'` and the upgrade tests can use them;
# each release step has one hand-written upgrade script, never edited after its release.
DATA = $(wildcard src/sql/released/retention--*.sql) $(wildcard src/sql/updates/retention--*--*.sql)
EXTRA_CLEAN = retention--$(EXTVERSION).sql results/ regression.diffs regression.out

REGRESS = install policy_api purge_delete run_log permissions
REGRESS_OPTS = --load-extension=retention
ISOLATION = run_exclusion
ISOLATION_OPTS = --load-extension=retention

PG_CPPFLAGS = -I$(srcdir)/src -DRETENTION_VERSION=\"$(EXTVERSION)\"
PG_CXXFLAGS = -std=c++17 -Werror -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-cast-function-type -Wno-register
SHLIB_LINK = -lstdc++

# Debian builds PostgreSQL with LLVM JIT; bitcode for our C++ is neither needed nor buildable
# without clang, so it is switched off.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

retention--$(EXTVERSION).sql: $(SQL_SOURCES) retention.control
	cat $(SQL_SOURCES) > $@

$(OBJS): $(wildcard src/*.hpp src/*/*.hpp)

.PHONY: format format-check lint prove
format:
	clang-format -i $(SRCS) $(wildcard src/*.hpp src/*/*.hpp test/unit/*.cpp)

format-check:
	clang-format --dry-run --Werror $(SRCS) $(wildcard src/*.hpp src/*/*.hpp test/unit/*.cpp)

# the boundary rule (scripts/check_boundary.sh), then clang-tidy over the C++ sources, with the
# compile commands of the CMake build
lint:
	bash scripts/check_boundary.sh
	cmake -S . -B build >/dev/null
	clang-tidy -p build --quiet --extra-arg=-Wno-ignored-attributes \
		--extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-register $(SRCS)

prove:
	bash scripts/pgtap.sh
