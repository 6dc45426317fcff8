#!/usr/bin/env bash
# End to end on an emulated Cortex-M3: builds the firmware, starts mosquitto on a free loopback port and a host-side
# mosquitto_sub, runs the firmware in QEMU's lm3s6965evb with UART0 connected to the broker, and checks both sides.
# Exits non-zero, with the broker's, the subscriber's and QEMU's output, if anything is off.
#
# Usage: run.sh [v5|v311|v5,v311]: the protocol versions the firmware is built with (cargo features; default
# both), checked in the broker's log. The 5.0-only build also builds the TLS firmware (feature tls), in the same
# target directory run-tls.sh uses: one build for both.
#
# Installs qemu-system-arm and mosquitto with apt-get when missing (as root), and the thumbv7m-none-eabi target
# with rustup. Environment: CARGO_TARGET_DIR (the firmware builds in $CARGO_TARGET_DIR/qemu-firmware-FEATURES),
# QEMU_TIMEOUT (seconds, default 120).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
versions="${1:-v5,v311}"
case "$versions" in
v5) features="v5,tls" level=p5 ;; # with the TLS firmware: run-tls.sh uses this build
v311) features="v311" level=p2 ;;
v5,v311 | v311,v5) features="v5,v311" level=p5 ;;
*)
    echo "run.sh: unknown versions '$versions' (v5, v311 or v5,v311)" >&2
    exit 2
    ;;
esac
target_dir="${CARGO_TARGET_DIR:-$here/../../target}/qemu-firmware-${features//,/-}"
qemu_timeout="${QEMU_TIMEOUT:-120}"

install() {
    if [ "$(id -u)" != 0 ]; then
        echo "run.sh: $1 is missing; install it with: sudo apt-get install -y $2" >&2
        exit 1
    fi
    echo "run.sh: installing $2" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}
command -v qemu-system-arm >/dev/null || install qemu-system-arm qemu-system-arm
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || install mosquitto mosquitto
command -v mosquitto_sub >/dev/null || install mosquitto_sub mosquitto-clients
mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx thumbv7m-none-eabi; then
    rustup target add thumbv7m-none-eabi >&2
fi

echo "run.sh: building the firmware ($features)" >&2
# From the firmware's directory, so that its .cargo/config.toml (target, linker script) applies.
(cd "$here" && cargo build --release --quiet --target thumbv7m-none-eabi --target-dir "$target_dir" \
    --no-default-features --features "$features")
firmware="$target_dir/thumbv7m-none-eabi/release/mqtt-embedded-qemu"

work="$(mktemp -d)"
broker_pid=""
sub_pid=""
cleanup() {
    [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null || true
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "run.sh: FAILED: $1" >&2
    for log in broker.log sub.out sub.err qemu.log; do
        echo "----- $log -----" >&2
        cat "$work/$log" >&2 2>/dev/null || true
    done
    exit 1
}

# Wait up to $2 tenths of a second for the pattern $1 in the broker's log.
await_log() {
    for _ in $(seq "$2"); do
        grep -q "$1" "$work/broker.log" && return 0
        sleep 0.1
    done
    return 1
}

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
socket_domain ipv4
allow_anonymous true
persistence false
log_dest stdout
log_type all
connection_messages true
EOF
stdbuf -oL "$mosquitto" -c "$work/mosquitto.conf" >"$work/broker.log" 2>&1 &
broker_pid=$!
await_log "Opening ipv4 listen socket on port $port" 100 || fail "mosquitto did not start"

# The host's own view of what the firmware published: topic, QoS, length, payload.
mosquitto_sub -h 127.0.0.1 -p "$port" -i host-check -q 2 -t 'mqtt-embedded/qemu/#' -C 6 -W "$qemu_timeout" \
    -F '%t %q %l %p' >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
await_log "Sending SUBACK to host-check" 100 || fail "mosquitto_sub did not subscribe"

echo "run.sh: running the firmware in QEMU (broker on 127.0.0.1:$port)" >&2
started=$(date +%s.%N)
status=0
timeout "$qemu_timeout" qemu-system-arm -machine lm3s6965evb -nographic -monitor none \
    -serial "tcp:127.0.0.1:$port" -semihosting-config enable=on,target=native \
    -kernel "$firmware" >"$work/qemu.log" 2>&1 || status=$?
elapsed=$(echo "$(date +%s.%N) - $started" | bc 2>/dev/null || echo "?")
[ "$status" = 124 ] && fail "QEMU timed out after ${qemu_timeout}s"
[ "$status" = 0 ] || fail "the firmware exited with status $status"

wait "$sub_pid" || fail "mosquitto_sub did not get the six messages"
sub_pid=""
big="$(python3 -c 'print("".join(chr(97 + i % 26) for i in range(2048)))')"
large="$(python3 -c 'print("".join(chr(97 + i % 26) for i in range(1024)))')"
expected="mqtt-embedded/qemu/0 0 5 qos 0
mqtt-embedded/qemu/1 1 5 qos 1
mqtt-embedded/qemu/2 2 5 qos 2
mqtt-embedded/qemu/big 1 2048 $big
mqtt-embedded/qemu/inbox/copied 1 12 to the inbox
mqtt-embedded/qemu/inbox/borrowed 2 1024 $large"
[ "$(cat "$work/sub.out")" = "$expected" ] || fail "mosquitto_sub saw something else than expected"
# mosquitto's log names the protocol of each client: p2 for 3.1.1, p5 for 5.0.
grep -q "as mqtt-embedded-qemu ($level," "$work/broker.log" || fail "the firmware did not connect with $versions"

cat "$work/qemu.log"
echo "run.sh: passed in ${elapsed}s of QEMU" >&2
