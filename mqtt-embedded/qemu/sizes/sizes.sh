#!/usr/bin/env bash
# Flash and RAM of the same minimal MQTT firmware (connect, subscribe at QoS 2, publish at QoS 0, 1 and 2, receive
# the three messages back, disconnect; no logging) with mqtt-embedded, rust-mqtt and minimq, on the same board code
# and embassy executor, for thumbv7m-none-eabi with opt-level "z", fat LTO, one codegen unit, panic = "abort".
#
# mqtt-embedded is built several times from the same program (ours/), with mqtt-core's cargo features selecting
# what it speaks: 3.1.1 only (v311), 5.0 only (v5), both (v5 + v311), and both with every feature (+ topic-alias,
# properties: the 5.0 topic aliases and the properties only applications use). The row "mqtt-embedded+TLS" is
# both versions over TLS 1.3 (feature `tls`: the broker verified against a CA, a client certificate, 1 KiB
# fragments), reading its certificates from the host as the QEMU TLS firmware does. rust-mqtt and minimq speak
# 5.0 only.
# Flash = text + rodata (+ data's load image, + the vector table), RAM = data + bss (the stack is not counted);
# `size` from binutils or llvm-size. With --run, each firmware also runs once in QEMU against a fresh mosquitto (a
# TLS 1.3 listener with certificates from openssl for the TLS row), to show it works.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/../../../target}/qemu-sizes"
bin="$target_dir/thumbv7m-none-eabi/release"
out="$target_dir/elf"
mkdir -p "$out"

# build NAME PACKAGE FEATURES: one firmware, kept as $out/NAME (each build has its own feature set: cargo would
# unify them if the packages were built together).
build() {
    (cd "$here" && cargo build --release --quiet --target thumbv7m-none-eabi --target-dir "$target_dir" \
        -p "$2" ${3:+--no-default-features --features "$3"})
    cp "$bin/$2" "$out/$1"
}
build ours-v311 size-ours v311
build ours-v5 size-ours v5
build ours-both size-ours v5,v311
build ours-all size-ours v5,v311,topic-alias,properties
build ours-tls size-ours-tls v5,v311
build rust-mqtt size-rust-mqtt ""
build minimq size-minimq ""
size_tool="$(command -v llvm-size || command -v arm-none-eabi-size || command -v size)"

# A CA, a broker certificate for localhost and a client certificate (ECDSA P-256) in $1, with what the TLS firmware
# reads from its working directory (DER, the key in SEC1), and the TLS listener's lines for mosquitto.conf.
tls_files() {
    local dir="$1" name
    for name in ca server client; do
        openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key"
    done
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 1 -subj "/CN=size CA" \
        -addext "basicConstraints=critical,CA:TRUE" -out "$dir/ca.pem"
    for name in server client; do
        openssl req -new -key "$dir/$name.key" -subj "/CN=localhost" -out "$dir/$name.csr"
        printf 'subjectAltName=DNS:localhost\n' >"$dir/$name.ext"
        openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
            -extfile "$dir/$name.ext" -out "$dir/$name.pem"
    done
    openssl x509 -in "$dir/ca.pem" -outform der -out "$dir/ca.der"
    openssl x509 -in "$dir/client.pem" -outform der -out "$dir/client.der"
    openssl ec -in "$dir/client.key" -outform der -out "$dir/client-key.der"
    # mosquitto drops to its own user: it must be able to read them.
    chmod 755 "$dir" && chmod 644 "$dir"/*
    printf 'tls_version tlsv1.3\ncafile %s/ca.pem\ncertfile %s/server.pem\nkeyfile %s/server.key\n' \
        "$dir" "$dir" "$dir"
    printf 'require_certificate true\n'
}

run_one() {
    local port dir pid status
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    dir="$(mktemp -d)"
    printf 'listener %s 127.0.0.1\nsocket_domain ipv4\nallow_anonymous true\n' "$port" >"$dir/mosquitto.conf"
    if [ "$2" = tls ]; then
        tls_files "$dir" 2>/dev/null >>"$dir/mosquitto.conf"
    fi
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$dir/mosquitto.conf" >/dev/null 2>&1 &
    pid=$!
    sleep 0.3
    status=0
    (cd "$dir" && timeout 60 qemu-system-arm -machine lm3s6965evb -nographic -monitor none \
        -serial "tcp:127.0.0.1:$port" -semihosting-config enable=on,target=native -kernel "$1") \
        >/dev/null 2>&1 || status=$?
    kill "$pid"
    rm -rf "$dir"
    [ "$status" = 0 ] && echo "ok" || echo "FAILED ($status)"
}

printf '%-44s %10s %10s %s\n' "client" "flash (B)" "RAM (B)" "$([ "${1:-}" = --run ] && echo "QEMU run")"
for row in ours-v311 ours-v5 ours-both ours-all ours-tls rust-mqtt minimq; do
    elf="$out/$row"
    # Berkeley format: text (code, rodata, vector table), data, bss.
    read -r text data bss _ < <("$size_tool" "$elf" | tail -n 1)
    case "$row" in
    ours-v311) name="mqtt-embedded, 3.1.1 only" ;;
    ours-v5) name="mqtt-embedded, 5.0 only" ;;
    ours-both) name="mqtt-embedded, 3.1.1 and 5.0" ;;
    ours-all) name="mqtt-embedded, 3.1.1 and 5.0, every feature" ;;
    ours-tls) name="mqtt-embedded+TLS, 3.1.1 and 5.0" ;;
    rust-mqtt) name="rust-mqtt 0.6 (5.0 only)" ;;
    minimq) name="minimq 0.13 (5.0 only)" ;;
    esac
    printf '%-44s %10d %10d %s\n' "$name" "$((text + data))" "$((data + bss))" \
        "$([ "${1:-}" = --run ] && run_one "$elf" "$([ "$row" = ours-tls ] && echo tls)")"
done
