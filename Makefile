# dockward: make run | make test | make build | make clean
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config/dockward.yml
RUN_FLAGS ?= --log-stderr
# The tests' private engine; `make test` starts it (scripts/test-services.sh).
TEST_STATE ?= /run/dockward-test
export DOCKWARD_TEST_DOCKER_SOCKET ?= $(TEST_STATE)/docker.sock

.PHONY: all build release run test test-services deps clean

all: build

# Build dependencies: libsystemd's headers and pkg-config (Debian packages).
deps:
	@if ! pkg-config --exists libsystemd 2>/dev/null; then \
		echo "installing libsystemd-dev and pkg-config"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libsystemd-dev pkg-config >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Runs the daemon in the foreground with the repo's config; entries go to
# journald and, with --log-stderr, to the terminal too.
run: release
	.build/release/dockward run --config $(CONFIG) $(RUN_FLAGS)

# Starts a private dockerd and journald, then runs every test.
test-services:
	scripts/test-services.sh start

test: deps test-services
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build 2>&1 | tee .build/test-output.txt; exit $${PIPESTATUS[0]}

clean:
	rm -rf .build
