# rail: the two commands a new user needs are `make demo` and `make test`; both install
# what they need (as root, on Debian) through scripts/deps.sh.

TARGET ?= x86_64-unknown-linux-musl

.PHONY: all build release deps test unit lab-test demo bench lab-up lab-down clean

all: build

build:
	cargo build

release:
	cargo build --release

deps:
	scripts/deps.sh

test: deps
	scripts/test.sh

demo: deps
	tests/lab/demo.sh

# Failover, failback, flow safety and cost in the lab against the release build; prints a
# table and writes target/bench/results.json (docs/bench.md). BENCH_TRIALS=1 for a smoke run.
# The cost section runs the static musl build, the kind of binary OpenWrt ships.
bench: deps
	cargo build --release
	cargo build --release --target x86_64-unknown-linux-musl
	RAIL_BIN=$(CURDIR)/target/release/rail \
	RAIL_COST_BIN=$(CURDIR)/target/x86_64-unknown-linux-musl/release/rail \
	cargo test --test lab_bench -- --ignored --nocapture

NAME ?= rail

lab-up: deps
	tests/lab/lab.sh up $(NAME) --masq

lab-down:
	tests/lab/lab.sh down $(NAME)

# docs/img/luci-*.png (installs chromium; not part of `make test`). With RAIL_OWRT set: from
# the real LuCI stack during the browser tests (status page during a failover, overview
# widget, a configuration page, phone width); without: the status view from the fixture.
.PHONY: screenshot
screenshot: deps
	if [ -n "$$RAIL_OWRT" ]; then tests/luci/real/run.sh shots docs/img; else tests/luci/screenshot.sh; fi

clean:
	cargo clean

# The opt-in tests against OpenWrt's own daemons built from source into RAIL_OWRT
# (tests/owrt_*.rs, tests/luci/real; docs/owrt.md). Fails when RAIL_OWRT is unset.
.PHONY: owrt-test
owrt-test: deps
	scripts/owrt/test.sh

# Cross-compiling and OpenWrt packages (docs/packaging.md). TARGET is a Rust triple.
.PHONY: cross docker-cross ipk apk size
cross:
	cross/build.sh $(TARGET)

docker-cross:
	cross/docker-build.sh $(TARGET)

ipk: cross
	cross/ipk.sh rail $(TARGET)
	if [ -d luci-app-rail ]; then cross/ipk.sh luci-app-rail; fi

# OpenWrt 25.12 (apk-tools v3): target/dist/apk/<arch>/rail-<version>.apk and
# target/dist/apk/noarch/luci-app-rail-<version>.apk
apk: cross
	cross/apk.sh rail $(TARGET)
	if [ -d luci-app-rail ]; then cross/apk.sh luci-app-rail; fi

size:
	cross/size.sh

# Reliability (docs/reliability.md): cargo-fuzz for FUZZ_SECS per target; a ten-minute soak
# of the release build after a warm-up.
FUZZ_SECS ?= 60
.PHONY: fuzz
fuzz:
	scripts/fuzz.sh $(FUZZ_SECS)

SOAK_SECS ?= 600
.PHONY: soak
soak: deps
	cargo build --release
	RAIL_BIN=$(CURDIR)/target/release/rail RAIL_SOAK_SECS=$(SOAK_SECS) cargo test --test reliability_soak -- --ignored --nocapture soak_
