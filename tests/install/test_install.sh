#!/usr/bin/env bash
# The library release: `cmake --install` into a temporary prefix puts the daemons, udptunctl,
# the headers, the shared libraries, pkg-config files, docs, examples, systemd units and the
# lwIP licence and the man pages in place; a C program builds against them with pkg-config
# alone and runs. (The Debian packages: test_debian_packages.sh.)
#   test_install.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=${1:?source directory}
build=${2:?build directory}
for tool in cc pkg-config; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
work=$(mktemp -d /tmp/udptun-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1
check "cmake --install succeeds" [ $? -eq 0 ]
libdir=$(dirname "$(find "$prefix" -name libudplocal.so | head -1)")
for f in bin/proxy-controller bin/udptunctl bin/udp-local bin/udp-server bin/tun2socks \
         include/udptun/udplocal.h include/udptun/udpserver.h include/udptun/tun2socks.h \
         include/udptun/controller.h share/doc/udptun/LICENSE.lwIP share/doc/udptun/README.md \
         share/doc/udptun/PROTOCOL.md share/doc/udptun/examples/udp-server.json \
         lib/systemd/system/udp-server.service lib/systemd/system/proxy-controller.service \
         share/man/man1/udp-server.1 share/man/man1/udptunctl.1 share/man/man1/proxy-controller.1; do
  check "installs $f" [ -e "$prefix/$f" ]
done
for l in udplocal udpserver tun2socks controller; do
  lib=$l
  case $l in tun2socks | controller) lib=udptun-$l ;; esac
  check "installs lib$lib.so and udptun-$l.pc" \
    bash -c "[ -e '$libdir/lib$lib.so' ] && [ -e '$libdir/pkgconfig/udptun-$l.pc' ]"
done
check "the lwIP licence is lwIP's" grep -q "Swedish Institute of Computer Science" "$prefix/share/doc/udptun/LICENSE.lwIP"
check "the libraries export only their C API" bash -c \
  "! nm -D --defined-only '$libdir/libudplocal.so' | awk '{print \$3}' | grep -v '^udplocal_' | grep -q ."
check "the installed daemon runs" bash -c "'$prefix/bin/udp-server' --help | grep -q listen"

export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs udptun-udplocal udptun-udpserver udptun-tun2socks udptun-controller)
check "pkg-config knows the libraries" [ -n "$flags" ]
former=$(pkg-config --libs udplocal udpserver)
check "the former names udplocal and udpserver still resolve (got: $former)" \
  bash -c "grep -q -- '-ludplocal' <<<'$former' && grep -q -- '-ludpserver' <<<'$former'"
# shellcheck disable=SC2086
cc -Wall -Wextra -Werror -o "$work/consumer" "$src/tests/install/consumer.c" $flags 2>"$work/cc.log"
check "a C program builds against the installed headers" [ $? -eq 0 ]
printf 'install test key, long enough\n' >"$work/psk"
examples=()
for c in udp-server udp-local tun2socks controller; do
  sed "s|/etc/udptun/psk|$work/psk|" "$prefix/share/doc/udptun/examples/$c.json" >"$work/$c.json"
  examples+=("$work/$c.json")
done
LD_LIBRARY_PATH=$libdir "$work/consumer" "$work/psk" "${examples[@]}" >"$work/consumer.log" 2>&1
check "and runs a tunnel through the installed libraries" [ $? -eq 0 ]
check "the shipped example configurations are valid" grep -q "example configurations are accepted" "$work/consumer.log"

if [ $failures -ne 0 ]; then
  for f in install.log cc.log consumer.log; do echo "---- $f"; tail -20 "$work/$f" 2>/dev/null; done
fi
echo "$failures failed"
[ $failures -eq 0 ]
