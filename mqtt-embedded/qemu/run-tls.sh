#!/usr/bin/env bash
# run.sh over TLS 1.3: builds the TLS firmware (src/tls.rs), generates a CA, a server certificate for localhost
# and a client certificate with openssl (ECDSA P-256), starts mosquitto with a TLS 1.3 listener that requires a
# client certificate (and a plain one for the host-side mosquitto_sub), and runs the firmware twice in QEMU:
#
# 1. with the CA that signed the broker's certificate: it must publish and receive everything over TLS; the host's
#    mosquitto_sub checks what arrived, and the broker's log that the client presented its certificate (mosquitto
#    takes its common name as the user name);
# 2. with another CA: the handshake must fail, and the firmware must exit with failure and the typed error
#    (InvalidCertificate), without hanging.
#
# The firmware reads the certificates and its key from QEMU's working directory (semihosting), so it is built once.
# The TLS firmware speaks MQTT 5.0 only: it is built as `run.sh v5` builds it (cargo features v5 and tls, the
# same target directory), so the two share one build.
# Installs what is missing as run.sh does (and openssl). Environment: CARGO_TARGET_DIR (the firmware builds in
# $CARGO_TARGET_DIR/qemu-firmware-v5-tls, run.sh v5's), QEMU_TIMEOUT (seconds, default 120).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="${CARGO_TARGET_DIR:-$here/../../target}/qemu-firmware-v5-tls"
qemu_timeout="${QEMU_TIMEOUT:-120}"

install() {
    if [ "$(id -u)" != 0 ]; then
        echo "run-tls.sh: $1 is missing; install it with: sudo apt-get install -y $2" >&2
        exit 1
    fi
    echo "run-tls.sh: installing $2" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}
command -v qemu-system-arm >/dev/null || install qemu-system-arm qemu-system-arm
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || install mosquitto mosquitto
command -v mosquitto_sub >/dev/null || install mosquitto_sub mosquitto-clients
command -v openssl >/dev/null || install openssl openssl
mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx thumbv7m-none-eabi; then
    rustup target add thumbv7m-none-eabi >&2
fi

echo "run-tls.sh: building the TLS firmware" >&2
(cd "$here" && cargo build --release --quiet --no-default-features --features v5,tls \
    --target thumbv7m-none-eabi --target-dir "$target_dir")
firmware="$target_dir/thumbv7m-none-eabi/release/mqtt-embedded-qemu-tls"

work="$(mktemp -d)"
# mosquitto, started as root, reads its certificates and key as the mosquitto user.
chmod 755 "$work"
broker_pid=""
sub_pid=""
cleanup() {
    [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null || true
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "run-tls.sh: FAILED: $1" >&2
    for log in openssl.log broker.log sub.out sub.err qemu.log qemu-wrong-ca.log; do
        echo "----- $log -----" >&2
        cat "$work/$log" >&2 2>/dev/null || true
    done
    exit 1
}

# Certificates, valid for a day: a CA, the broker's (localhost), the device's, and another CA.
certificates() {
    local dir="$work/pki"
    mkdir -p "$dir"
    key() { openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$1.key"; }
    ca() {
        key "$1"
        openssl req -x509 -new -key "$dir/$1.key" -sha256 -days 1 -subj "/CN=$2" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$dir/$1.pem"
    }
    # signed NAME COMMON_NAME EXTENSIONS
    signed() {
        key "$1"
        openssl req -new -key "$dir/$1.key" -subj "/CN=$2" -out "$dir/$1.csr"
        printf '%b' "$3" >"$dir/$1.ext"
        openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
            -sha256 -extfile "$dir/$1.ext" -out "$dir/$1.pem"
    }
    ca ca "mqtt-embedded test CA"
    ca other-ca "another CA"
    signed server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    signed client qemu-device "extendedKeyUsage=clientAuth\n"
    chmod 644 "$dir"/*
    # What each firmware run finds in its working directory: DER, and the key in SEC1.
    for run in device wrong-ca; do
        mkdir -p "$work/$run"
        openssl x509 -in "$dir/client.pem" -outform der -out "$work/$run/client.der"
        openssl ec -in "$dir/client.key" -outform der -out "$work/$run/client-key.der"
    done
    openssl x509 -in "$dir/ca.pem" -outform der -out "$work/device/ca.der"
    openssl x509 -in "$dir/other-ca.pem" -outform der -out "$work/wrong-ca/ca.der"
}
certificates >"$work/openssl.log" 2>&1 || fail "openssl could not make the certificates"

await_log() {
    for _ in $(seq "$2"); do
        grep -q "$1" "$work/broker.log" && return 0
        sleep 0.1
    done
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
tls_port="$(free_port)"
# Listeners first: a listener option before any `listener` line would open the default port 1883.
cat >"$work/mosquitto.conf" <<EOF
# The host's subscriber.
listener $port 127.0.0.1
socket_domain ipv4
allow_anonymous true
# The device: TLS 1.3 only, with a certificate the CA signed; its common name becomes its user name.
listener $tls_port 127.0.0.1
socket_domain ipv4
allow_anonymous true
tls_version tlsv1.3
cafile $work/pki/ca.pem
certfile $work/pki/server.pem
keyfile $work/pki/server.key
require_certificate true
use_identity_as_username true
persistence false
log_dest stdout
log_type all
connection_messages true
EOF
stdbuf -oL "$mosquitto" -c "$work/mosquitto.conf" >"$work/broker.log" 2>&1 &
broker_pid=$!
await_log "Opening ipv4 listen socket on port $tls_port" 100 || fail "mosquitto did not start"

mosquitto_sub -h 127.0.0.1 -p "$port" -i host-check -q 2 -t 'mqtt-embedded/qemu/#' -C 6 -W "$qemu_timeout" \
    -F '%t %q %l %p' >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
await_log "Sending SUBACK to host-check" 100 || fail "mosquitto_sub did not subscribe"

# run DIR LOG: the firmware in QEMU, with UART0 on the TLS listener and DIR as the working directory.
run() {
    (cd "$work/$1" && timeout "$qemu_timeout" qemu-system-arm -machine lm3s6965evb -nographic -monitor none \
        -serial "tcp:127.0.0.1:$tls_port" -semihosting-config enable=on,target=native \
        -kernel "$firmware") >"$work/$2" 2>&1
}

echo "run-tls.sh: running the TLS firmware in QEMU (broker's TLS listener on 127.0.0.1:$tls_port)" >&2
started=$(date +%s.%N)
status=0
run device qemu.log || status=$?
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
grep -q "as mqtt-embedded-qemu-tls (.*u'qemu-device')" "$work/broker.log" ||
    fail "the broker did not see the device's client certificate"
cat "$work/qemu.log"
echo "run-tls.sh: mutual TLS passed in ${elapsed}s of QEMU" >&2

echo "run-tls.sh: running the TLS firmware with another CA" >&2
status=0
run wrong-ca qemu-wrong-ca.log || status=$?
[ "$status" = 124 ] && fail "with another CA, QEMU timed out after ${qemu_timeout}s instead of failing"
[ "$status" = 1 ] || fail "with another CA, the firmware exited with status $status, not 1"
grep -q "TLS connection refused: Some(Handshake(InvalidCertificate))" "$work/qemu-wrong-ca.log" ||
    fail "with another CA, the firmware did not report InvalidCertificate"
cat "$work/qemu-wrong-ca.log"
echo "run-tls.sh: passed" >&2
