#!/usr/bin/env bash
# The Windows release: `cmake --install` of the mingw-w64 build into a temporary prefix puts
# the daemons, the DLLs with their import libraries, the headers and the licences in place;
# the DLLs export exactly their C API and need nothing beyond Windows' own DLLs; a C program
# built against the installed headers and import libraries alone runs a tunnel under Wine.
#   test_windows_install.sh SOURCE_DIR BUILD_DIR (the build-windows tree)
set -uo pipefail
src=${1:?source directory}
build=${2:?build directory}
wine=${WINE:-/usr/lib/wine/wine64}
cc=x86_64-w64-mingw32-gcc-posix
objdump=x86_64-w64-mingw32-objdump
for tool in "$cc" "$objdump" "$wine"; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
work=$(mktemp -d /tmp/udptun-windows-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1
check "cmake --install succeeds" [ $? -eq 0 ]
for f in bin/udp-local.exe bin/udp-server.exe bin/tun2socks.exe bin/libudplocal.dll \
         bin/libudpserver.dll bin/libudptun-tun2socks.dll lib/libudplocal.dll.a \
         lib/libudpserver.dll.a lib/libudptun-tun2socks.dll.a include/udptun/udplocal.h \
         include/udptun/udpserver.h include/udptun/tun2socks.h share/doc/udptun/README.md \
         share/doc/udptun/LICENSE share/doc/udptun/LICENSE.lwIP; do
  check "installs $f" [ -e "$prefix/$f" ]
done
exports() { "$objdump" -p "$1" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk 'NF==3 && $2 ~ /^[0-9]+\]$/ {print $3}'; }
# Windows' own DLLs only: libuv, cJSON, mbedTLS and the GCC runtime are inside.
system_dlls='^(kernel32|msvcrt|ws2_32|advapi32|iphlpapi|userenv|user32|bcrypt|psapi|dbghelp|ole32|shell32)\.dll$'
for pair in udplocal:udplocal_ udpserver:udpserver_ udptun-tun2socks:tun2socks_; do
  name=lib${pair%%:*}.dll
  api=${pair#*:}
  all=$(exports "$prefix/bin/$name")
  others=$(grep -v "^$api" <<< "$all")
  needs=$("$objdump" -p "$prefix/bin/$name" | awk '/DLL Name:/ {print tolower($3)}' | grep -vE "$system_dlls")
  check "$name exports its C API (${api}new, ${api}start, ...)" \
    bash -c "grep -qx '${api}new' <<< '$all' && grep -qx '${api}start' <<< '$all' && grep -qx '${api}free' <<< '$all'"
  check "$name exports nothing else${others:+ (has: $others)}" [ -z "$others" ]
  check "$name needs only Windows' own DLLs${needs:+ (needs: $needs)}" [ -z "$needs" ]
done

# The program the Linux install test builds, against the Windows headers and import
# libraries only (the controller is Linux-only: consumer.c leaves it out on Windows).
"$cc" -Wall -Wextra -Werror -o "$work/consumer.exe" "$src/tests/install/consumer.c" \
  -I"$prefix/include" -L"$prefix/lib" -ludplocal -ludpserver -ludptun-tun2socks 2>"$work/cc.log"
check "a C program builds against the import libraries" [ $? -eq 0 ]
# Where Windows looks first, beside the program: our DLLs, and the program's own
# toolchain runtime (this test program is not linked statically; ours are).
cp "$prefix"/bin/*.dll "$("$cc" -print-file-name=libwinpthread-1.dll)" "$work/"
printf 'test key: correct horse battery staple\n' > "$work/psk"
# Into files, never pipes: Wine's own services, if this is the first program of the session,
# inherit its output and would hold a pipe open. Wine's console ends lines with CR LF.
(cd "$work" && "$wine" ./consumer.exe "$work/psk" >"$work/consumer.raw" 2>&1 </dev/null)
tr -d '\r' <"$work/consumer.raw" >"$work/consumer.log"
check "it runs a tunnel through the DLLs under Wine" grep -q "^tunnel up" "$work/consumer.log"
check "it exits 0" grep -q "^ok$" "$work/consumer.log"
"$wine" "$prefix/bin/udp-server.exe" --help >"$work/help.txt" 2>&1 </dev/null
check "the installed daemon runs" grep -q listen "$work/help.txt"

if [ $failures -ne 0 ]; then
  for f in install.log cc.log consumer.log; do echo "---- $f"; tail -20 "$work/$f" 2>/dev/null; done
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
