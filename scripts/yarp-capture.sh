#!/usr/bin/env bash
# Captures what real YARP tools send and answer, for test/bridges/fixtures/yarp (see its README.md).
# Needs root (a network namespace with loopback only, so yarpserver keeps 127.0.0.1), tcpdump, and a
# YARP build: YARP_BUILD=/path/to/yarp-build (bin/yarpserver, bin/yarp, lib/). Not part of the suite.
#
#   npm run build && sudo YARP_BUILD=/work/ext/yarp-build bash scripts/yarp-capture.sh OUTDIR
set -euo pipefail
if [ "${1:-}" = "--inside" ]; then
  OUT=$2
  ip link set lo up
  export HOME=$OUT/home LD_LIBRARY_PATH=$YARP_BUILD/lib
  mkdir -p "$HOME"
  B=$YARP_BUILD/bin
  PIDS=()
  cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
  trap cleanup EXIT
  "$B/yarpserver" --ip 127.0.0.1 --socket 10000 --portdb :memory: --subdb :memory: --write >"$OUT/yarpserver.log" 2>&1 &
  PIDS+=($!)
  sleep 1.5
  scenario() { # name, then the commands (a function) to run while tcpdump records
    tcpdump -i lo --immediate-mode -B 8192 -U -s 0 -w "$OUT/$1.pcap" tcp >/dev/null 2>&1 &
    local dump=$!
    sleep 0.5
    "$2" >"$OUT/$1.txt" 2>&1 || true
    sleep 1.5
    kill "$dump"
    wait "$dump" 2>/dev/null || true
    node "$(dirname "$0")/../dist/scripts/yarp-pcap.js" "$OUT/$1.pcap" >"$OUT/$1.json"
  }
  names() {
    printf 'NAME_SERVER register /qi/test tcp 127.0.0.1 12345\n' | node -e "$NC" 10000
    printf 'NAME_SERVER query /qi/test\n' | node -e "$NC" 10000
    printf 'NAME_SERVER query /nothere\n' | node -e "$NC" 10000
    printf 'NAME_SERVER list\n' | node -e "$NC" 10000
    printf 'NAME_SERVER unregister /qi/test\n' | node -e "$NC" 10000
    "$B/yarp" name list
  }
  write_read() {
    "$B/yarp" read /r &
    local r=$!
    sleep 1.5
    (printf 'hello 1 2.5 "two words" (a (b 3)) [ok] {1 2 255} true -7 3000000000\n'; sleep 1; printf '42\n'; sleep 1) |
      "$B/yarp" write /w /r
    sleep 0.5
    kill -INT "$r"
    wait "$r" || true
  }
  read_connect() {
    (sleep 3; printf 'x 1\n'; sleep 1.5) | "$B/yarp" write /src &
    local w=$!
    sleep 1
    "$B/yarp" read /r2 /src &
    local r=$!
    sleep 2.5
    "$B/yarp" disconnect /src /r2
    sleep 0.5
    kill -INT "$r"
    wait "$w" "$r" || true
  }
  rpc() {
    "$B/yarp" rpcserver /srv &
    local s=$!
    sleep 1.5
    (printf 'add 1 2\n'; sleep 1; printf 'hi "there"\n'; sleep 1) | "$B/yarp" rpc /srv
    kill -INT "$s"
    wait "$s" || true
  }
  text() {
    "$B/yarp" rpcserver /srv2 &
    local s=$!
    sleep 1.5
    local port
    port=$(printf 'NAME_SERVER query /srv2\n' | node -e "$NC" 10000 | sed -n 's/.* port \([0-9]*\) .*/\1/p')
    printf 'CONNACK /telnet\r\nd\r\n1 2 "three"\r\nq\r\n' | node -e "$NC" "$port"
    kill -INT "$s"
    wait "$s" || true
  }
  scenario names names
  scenario write-read write_read
  scenario read-connect read_connect
  scenario rpc rpc
  scenario text text
  exit 0
fi
OUT=$(realpath "${1:?usage: yarp-capture.sh OUTDIR}")
mkdir -p "$OUT"
# A tiny netcat: stdin to 127.0.0.1:PORT, the answer to stdout until the peer closes or 1 s of silence.
export NC='const s=require("net").connect(+process.argv[1],"127.0.0.1");process.stdin.pipe(s,{end:false});let t;const q=()=>{clearTimeout(t);t=setTimeout(()=>process.exit(0),1000)};q();s.on("data",d=>{process.stdout.write(d);q()});s.on("close",()=>process.exit(0))'
export YARP_BUILD
unshare -n bash "$0" --inside "$OUT"
