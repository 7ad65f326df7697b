# dockward: make run | make test | make build | make clean
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config/dockward.yml
RUN_FLAGS ?= --log-stderr
# The tests' private engine; `make test` starts it (scripts/test-services.sh).
TEST_STATE ?= /run/dockward-test
export DOCKWARD_TEST_DOCKER_SOCKET ?= $(TEST_STATE)/docker.sock

.PHONY: all build release run test test-services test-systemd test-tools test-image test-v2host test-k8snode deps deb-tools packaging-tools lintian clean bench soak deb image fuzz golden protos

all: build

# Build dependencies: libsystemd's and libyaml's headers and pkg-config
# (Debian packages).
deps:
	@if ! pkg-config --exists libsystemd yaml-0.1 2>/dev/null; then \
		echo "installing libsystemd-dev, libyaml-dev and pkg-config"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libsystemd-dev libyaml-dev pkg-config >/dev/null; \
	fi

# What the packaging tests check the package with: lintian, and man-db and
# groff for the man pages (Debian packages).
packaging-tools:
	@missing=""; \
	command -v lintian >/dev/null || missing="$$missing lintian"; \
	command -v man >/dev/null || missing="$$missing man-db"; \
	command -v groff >/dev/null || missing="$$missing groff-base"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# What scripts/build-deb.sh needs beyond the build: dpkg-shlibdeps (the
# Depends versions), from dpkg-dev.
deb-tools:
	@command -v dpkg-shlibdeps >/dev/null || { echo "installing dpkg-dev"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null; }

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

# Every XCTest, then the package under a real systemd (test-systemd), then
# the image under the test engine (test-image), then
# on a real cgroup v2 host under QEMU (test-v2host), then on a Kubernetes
# node under QEMU (test-k8snode); each prints its own passed/failed line, and
# any failing fails the target.
test: deps packaging-tools test-services test-tools
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build 2>&1 | tee .build/test-output.txt; rc=$${PIPESTATUS[0]}; \
	count() { grep -a -c -E "Test Case '[^']+' $$1 \([0-9.]+ seconds\)" .build/test-output.txt; }; \
	echo "XCTest: $$(count passed) passed, $$(count failed) failed, $$(count skipped) skipped"; \
	start=$$(date +%s); $(MAKE) --no-print-directory test-systemd; src=$$?; \
	echo "test-systemd: $$([ $$src = 0 ] && echo passed || echo failed) in $$(( $$(date +%s) - start )) s (release package build included)"; \
	start=$$(date +%s); $(MAKE) --no-print-directory test-image; irc=$$?; \
	echo "test-image: $$([ $$irc = 0 ] && echo passed || echo failed) in $$(( $$(date +%s) - start )) s (image build included)"; \
	start=$$(date +%s); $(MAKE) --no-print-directory test-v2host; vrc=$$?; \
	echo "test-v2host: $$([ $$vrc = 0 ] && echo passed || echo failed) in $$(( $$(date +%s) - start )) s"; \
	start=$$(date +%s); $(MAKE) --no-print-directory test-k8snode; krc=$$?; \
	echo "test-k8snode: $$([ $$krc = 0 ] && echo passed || echo failed) in $$(( $$(date +%s) - start )) s"; \
	[ $$rc = 0 ] || exit $$rc; [ $$src = 0 ] || exit $$src; [ $$irc = 0 ] || exit $$irc; [ $$vrc = 0 ] || exit $$vrc; exit $$krc

# Tools the XCTests use beyond the build's: kubernetes-validate (pip), for
# the DaemonSet's offline validation (kubectl renders it).
test-tools:
	@command -v kubernetes-validate >/dev/null || { echo "installing kubernetes-validate (pip)"; \
		python3 -m pip install -q kubernetes-validate 2>/dev/null || python3 -m pip install -q --break-system-packages kubernetes-validate; }

# dockward's image under the test engine, by its own Compose file: builds
# it there (as make image does), then a socket mount, a fork bomb under --pids-limit and
# a container without a limit beside it; the host's journal and `dockward
# alerts` must have their entries from the containerized daemon, and one
# self-exempt (no socket-mount) for its own container.
# scripts/image-test.sh says what each check printed.
test-image: export DOCKER_HOST = unix://$(DOCKWARD_TEST_DOCKER_SOCKET)
test-image: deps test-services image
	scripts/image-test.sh $(IMAGE_REF) \
		"$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/dockward"

# The package under a real systemd: builds the release .deb (make deb),
# checks it and its dbgsym with lintian (make lintian),
# boots a minimal Debian 12 under systemd-nspawn (its root tree cached in
# /var/cache/dockward-test), installs the package there and checks start,
# watchdog, reload, stop, a host without a docker group, the exposure
# analysis under the shipped sandbox, the state directory, the journal, and
# an upgrade from the same binary packed as 0.0.9 (conffile, state, one
# restart, no repeated alert), then remove and purge.
# scripts/systemd-test.sh says what each check printed.
test-systemd: deps packaging-tools test-services deb
	lrc=0; $(MAKE) --no-print-directory lintian || lrc=$$?; \
	scripts/systemd-test.sh "$$(ls -t $(DEB_DIR)/dockward_*.deb | head -n1)"; src=$$?; \
	[ $$src = 0 ] || exit $$src; exit $$lrc

# lintian on the package make deb built and its dbgsym: no error or
# warning (scripts/lintian-check.sh; overrides carry their reason).
lintian: packaging-tools
	deb="$$(ls -t $(DEB_DIR)/dockward_*.deb | head -n1)"; \
	scripts/lintian-check.sh "$$deb" "$$(dirname "$$deb")/dockward-dbgsym_$$(basename "$$deb" | cut -d_ -f2-)"

# The package on real cgroup v2 hosts, booted under QEMU (software emulation)
# one after the other: Debian 12 with its 6.1 kernel, and Debian 13
# "trixie" (kernel 6.12, systemd 257, Docker 26, Podman 5.4); root trees
# cached in /var/cache/dockward-test. In each, a first install next to the
# guest's own docker.io (systemd cgroup driver), then refusals seen from the
# kernel's word, socket mounts, inherited and updated limits, a forecast, a
# container dying at its limit, a quiet restart, dockward alerts, a slice's
# limit, a sub-cgroup and a custom parent, then the same against the guest's
# Podman. scripts/v2host-test.sh says what each check printed.
# V2HOST_GUESTS picks the guests: "debian12 trixie" by default; forky (Debian
# testing, which moves every day) on demand only, e.g.
#   make test-v2host V2HOST_GUESTS="debian12 trixie forky"
#   make test-v2host V2HOST_GUESTS=forky
V2HOST_GUESTS ?= debian12 trixie
test-v2host: deps deb
	DOCKWARD_V2HOST_GUESTS="$(V2HOST_GUESTS)" scripts/v2host-test.sh "$$(ls -t $(DEB_DIR)/dockward_*.deb | head -n1)"

# The package on a Kubernetes node, booted under QEMU: Debian 13 "trixie"
# with its containerd 1.7 (CRI plugin, runc with the systemd cgroup driver)
# and no kubelet: the checks play kubelet through the CRI
# (scripts/cri-client.py), pods in kubepods.slice/kubepods-<qos>.slice/
# kubepods-<qos>-pod<uid>.slice, a pod-level limit as the pod slice's
# TasksMax. A pod's fork bomb, a pod without a limit, hostPath mounts of
# containerd's socket and of /var/run, the pause containers, a restart of
# containerd, kubelet's evictionHard pid.available, a quiet stop. Then
# dockward's image (make image, on the tests' engine as test-image builds
# it, saved with docker save into K8SNODE_IMAGE_TAR) imported into
# containerd and run as packaging/kubernetes's DaemonSet pod (kubectl
# kustomize renders it: test-tools): its self-exempt, a pod's socket mount
# and a pod's fork bomb, from its entries in the node's journal. Root tree
# cached in /var/cache/dockward-test (trixie-k8snode-<key>).
# scripts/k8snode-test.sh says what each check printed.
K8SNODE_IMAGE_TAR ?= .build/dockward-image.tar
test-k8snode: export DOCKER_HOST = unix://$(DOCKWARD_TEST_DOCKER_SOCKET)
test-k8snode: deps deb test-services test-tools image
	docker save -o $(K8SNODE_IMAGE_TAR) $(IMAGE_REF)
	scripts/k8snode-test.sh "$$(ls -t $(DEB_DIR)/dockward_*.deb | head -n1)" $(K8SNODE_IMAGE_TAR)

# Minutes of container churn (socket mounts, fork bombs) against the real
# engine: every alert reported once, descriptors and memory back to baseline.
SOAK_CONTAINERS ?= 300
soak: deps test-services
	$(SWIFT) build --build-tests
	DOCKWARD_SOAK_CONTAINERS=$(SOAK_CONTAINERS) $(SWIFT) test --skip-build --filter ChurnEndToEndTests

# Poll cost against a C pread baseline on real cgroups, the daemon's CPU and
# memory, and alert latency with the private engine (bench/run.py); then CPU
# per tick at a 100 ms cadence against C tickers reading three files and one,
# and anonymous memory, at N = 1,000 and 10,000 (bench/cadence.py). Needs root.
bench: deps test-services
	$(SWIFT) build -c release --product dockward
	$(SWIFT) build -c release --product dockward-bench
	python3 bench/run.py
	python3 bench/cadence.py

# dockward_<version>_<arch>.deb in $(DEB_DIR): the release binary with the
# Swift runtime linked in (so the package needs no toolchain), the systemd
# unit, the default config as a conffile and the journal catalog.
DEB_DIR ?= .build/deb
deb: deps deb-tools
	$(SWIFT) build -c release --static-swift-stdlib --product dockward
	scripts/build-deb.sh "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/dockward" $(DEB_DIR)

# dockward:<version> (IMAGE_TAG) on the engine `docker` talks to
# (DOCKER_HOST): the same release binary as the .deb's, on a base of
# Debian 12's libraries alone, made from the machine's apt mirror (no
# registry). packaging/image/README.md says how to run it.
IMAGE_TAG ?=
VERSION = $(shell sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/DockwardCore/Version.swift)
# The image make image builds: IMAGE_TAG, else build-image.sh's default.
IMAGE_REF = $(or $(IMAGE_TAG),dockward:$(VERSION))
image: deps
	$(SWIFT) build -c release --static-swift-stdlib --product dockward
	scripts/build-image.sh "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/dockward" $(IMAGE_TAG)

# Regenerates Sources/DockwardContainerd/Generated from Protos/containerd
# (containerd's API, trimmed to what dockward reads); needs protoc
# (Debian's protobuf-compiler). The output is committed: builds never run it.
protos:
	scripts/generate-protos.sh

# Rewrites the golden files from the code; review their diff like code:
# Tests/PackagingTests/Golden (every entry kind, a /metrics scrape),
# Tests/DockwardDaemonTests/Golden (the in-process scenario's journal,
# scrape and Alertmanager bodies), Tests/DockwardAuditTests/Golden
# (audit --json and SARIF of a fixture host).
golden: deps
	$(SWIFT) build --build-tests
	DOCKWARD_UPDATE_GOLDEN=1 $(SWIFT) test --skip-build \
		--filter 'GoldenTranscriptTests|ScenarioGoldenTests|HostAuditTests.testJSONAndSARIFMatchTheirGoldenFiles'

# libFuzzer runs of the event-stream, config and cgroup parsers (fuzz/README.md),
# FUZZ_SECONDS per target, one after the other. Fails on any crash, timeout or OOM.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build
