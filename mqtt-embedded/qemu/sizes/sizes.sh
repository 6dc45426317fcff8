#!/usr/bin/env bash
# Flash and RAM of the same minimal MQTT firmware (connect, subscribe at QoS 2, publish at QoS 0, 1 and 2, receive
# the three messages back, disconnect; no logging) with mqtt-embedded, rust-mqtt and minimq, on the same board code
# and embassy executor, for thumbv7m-none-eabi with opt-level "z", fat LTO, one codegen unit, panic = "abort".
# Flash = text + rodata (+ data's load image, + the vector table), RAM = data + bss; `size` from binutils or
# llvm-size. With --run, each firmware also runs once in QEMU against a fresh mosquitto, to show it works.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/../../../target}/qemu-sizes"
(cd "$here" && cargo build --release --quiet --target thumbv7m-none-eabi --target-dir "$target_dir")
bin="$target_dir/thumbv7m-none-eabi/release"
size_tool="$(command -v llvm-size || command -v arm-none-eabi-size || command -v size)"

run_one() {
    local port conf pid status
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    conf="$(mktemp)"
    printf 'listener %s 127.0.0.1\nsocket_domain ipv4\nallow_anonymous true\n' "$port" >"$conf"
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$conf" >/dev/null 2>&1 &
    pid=$!
    sleep 0.3
    status=0
    timeout 60 qemu-system-arm -machine lm3s6965evb -nographic -monitor none -serial "tcp:127.0.0.1:$port" \
        -semihosting-config enable=on,target=native -kernel "$1" >/dev/null 2>&1 || status=$?
    kill "$pid"
    rm -f "$conf"
    [ "$status" = 0 ] && echo "ok" || echo "FAILED ($status)"
}

printf '%-14s %10s %10s %s\n' "client" "flash (B)" "RAM (B)" "$([ "${1:-}" = --run ] && echo "QEMU run")"
for crate in ours rust-mqtt minimq; do
    elf="$bin/size-$crate"
    # Berkeley format: text (code, rodata, vector table), data, bss.
    read -r text data bss _ < <("$size_tool" "$elf" | tail -n 1)
    name=$([ "$crate" = ours ] && echo mqtt-embedded || echo "$crate")
    printf '%-14s %10d %10d %s\n' "$name" "$((text + data))" "$((data + bss))" \
        "$([ "${1:-}" = --run ] && run_one "$elf")"
done
