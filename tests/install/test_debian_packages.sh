#!/usr/bin/env bash
# The Debian packages, judged as an operator would: dpkg-buildpackage builds them from a copy
# of the source, lintian finds no error and no warning (each remaining one overridden with
# its reason in debian/*.lintian-overrides), and they are installed, used and purged in a
# throwaway root — an overlay over / in a private mount and network namespace, so the
# machine ends exactly as it began (checked).
#   test_debian_packages.sh SOURCE_DIR
set -uo pipefail
src=$(cd "${1:?source directory}" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a throwaway root: mount namespace, overlay)"; exit 77; }
for tool in dpkg-buildpackage dh lintian unshare chroot man pkg-config cc; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup installs it)"; exit 77; }
done
version=$(sed -n '1s/^udptun (\([^)]*\)).*/\1/p' "$src/debian/changelog")
work=$(mktemp -d /tmp/udptun-deb-$$-XXXXXX)
trap 'umount -R "$work/ovl" 2>/dev/null; rm -rf "$work"' EXIT
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); return 1; fi; }

# What the host looks like before: it must look the same afterwards.
host_before=$(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null | md5sum; getent passwd | md5sum; ls /etc/systemd/system/*.wants 2>/dev/null | md5sum)

# 1. Build (scripts/package: dpkg-buildpackage on a copy of the source).
"$src/scripts/package" "$work" >"$work/build.log" 2>&1
check "dpkg-buildpackage -b builds the packages" [ $? -eq 0 ] ||
  { tail -30 "$work/build.log"; echo "$failures failed"; exit 1; }
debs=()
for p in udptun libudplocal0 libudpserver0 libudptun-tun2socks0 libudptun-controller0 libudptun-dev; do
  deb=$(ls "$work"/${p}_"$version"_*.deb 2>/dev/null | head -1)
  check "package $p is built" [ -n "$deb" ]
  [ -n "$deb" ] && debs+=("$(basename "$deb")")
done
check "the binaries' debug symbols go into -dbgsym packages" \
  bash -c "ls '$work'/udptun-dbgsym_*.deb '$work'/libudplocal0-dbgsym_*.deb >/dev/null 2>&1"
check "the daemons are stripped (no symbol table)" bash -c \
  "dpkg-deb -x '$work/${debs[0]}' '$work/x' && ! readelf -S '$work/x/usr/bin/udp-server' | grep -q '\.symtab'"
check "each library is in the package named after its SONAME" bash -c \
  "dpkg-deb -x '$work'/libudplocal0_*.deb '$work/l' &&
   readelf -d '$work'/l/usr/lib/*/libudplocal.so.0.* | grep -q 'SONAME.*\[libudplocal.so.0\]'"
check "the -dev package holds headers, .so links and pkg-config files (multiarch)" bash -c \
  "dpkg-deb -c '$work'/libudptun-dev_*.deb | grep -q 'usr/include/udptun/udplocal.h' &&
   dpkg-deb -c '$work'/libudptun-dev_*.deb | grep -q 'usr/lib/x86_64-linux-gnu/libudplocal.so ->' &&
   dpkg-deb -c '$work'/libudptun-dev_*.deb | grep -q 'usr/lib/x86_64-linux-gnu/pkgconfig/udptun-udplocal.pc'"

# 2. lintian: no error, no warning.
lintian --fail-on none "$work"/udptun_"$version"_*.changes >"$work/lintian.log" 2>&1
grep -E '^[EW]: ' "$work/lintian.log" >"$work/lintian.bad"
check "lintian: 0 errors, 0 warnings" [ ! -s "$work/lintian.bad" ]
cat "$work/lintian.bad"

# 3. Install, use and purge them in a throwaway root.
cp "$src/tests/install/consumer.c" "$work/"
cp "$src"/docs/examples/{udp-server,udp-local,tun2socks,controller}.json "$work/"
cat >"$work/in-root.sh" <<'EOF'
# Runs inside the throwaway root, the packages in /debs. One line per check.
cd /debs
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }
programs="udp-local udp-server tun2socks proxy-controller udptunctl"
dpkg -i $(cat debs.list) >install.log 2>&1
check "dpkg -i installs them" [ $? -eq 0 ]
check "all six are installed" [ "$(dpkg-query -W -f='${Status}\n' $(sed 's/_.*//' debs.list) | grep -c 'install ok installed')" = 6 ]
check "postinst made the udptun system user" bash -c "getent passwd udptun | grep -q ':/nonexistent:'"
check "the libraries are known to the dynamic linker (ldconfig trigger)" bash -c "ldconfig -p | grep -q 'libudplocal.so.0 '"
check "proxy-controller.service is enabled" [ -L /etc/systemd/system/multi-user.target.wants/proxy-controller.service ]
check "udp-server.service is installed, not enabled (it needs a key first)" \
  bash -c "[ -f /lib/systemd/system/udp-server.service ] && [ ! -e /etc/systemd/system/multi-user.target.wants/udp-server.service ]"
check "/etc/udptun/controller.json is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' udptun | grep -q /etc/udptun/controller.json"
check "udp-server --help works" bash -c "udp-server --help | grep -q -- '--listen ADDR:PORT'"
check "udp-server --version says $VERSION" bash -c "udp-server --version | grep -qx 'udp-server (udptun) $VERSION'"
check "man udp-server works" bash -c "MANPAGER=cat MANWIDTH=100 man udp-server 2>/dev/null | grep -q 'authenticated UDP relay'"
for p in $programs; do
  page=/usr/share/man/man1/$p.1.gz
  # Every option --help lists is in the man page, and the other way round.
  help_flags=$($p --help | grep -oE '^  -[-a-z0-9]+' | tr -d ' ' | sort -u)
  man_flags=$(MANWIDTH=200 man -l "$page" 2>/dev/null | grep -oE '^ {7}-[-a-z0-9]+' | tr -d ' ' | sort -u)
  check "man -l $p.1 renders, and its options are --help's" \
    bash -c "[ -n '$help_flags' ] && [ '$help_flags' = '$man_flags' ]"
done
libs=$(pkg-config --libs udptun-udplocal | xargs)
check "pkg-config --libs udptun-udplocal says -ludplocal, no -L (got: $libs)" [ "$libs" = "-ludplocal" ]
libs=$(pkg-config --libs udplocal | xargs)
check "the former name udplocal still says -ludplocal (got: $libs)" [ "$libs" = "-ludplocal" ]
cc -Wall -Wextra -Werror -o consumer consumer.c $(pkg-config --cflags --libs udptun-udplocal udptun-udpserver udptun-tun2socks udptun-controller) 2>cc.log
check "a C program builds against libudptun-dev" [ $? -eq 0 ]
printf 'package test key, long enough\n' >psk
for c in udp-server udp-local tun2socks controller; do sed -i "s|/etc/udptun/psk|/debs/psk|" $c.json; done
./consumer /debs/psk udp-server.json udp-local.json tun2socks.json controller.json >consumer.log 2>&1
check "and runs a tunnel through the installed libraries" [ $? -eq 0 ]
mkdir -p /var/lib/udptun/services/tun2socks   # state the controller would have left

dpkg --purge $(sed 's/_.*//' debs.list) >purge.log 2>&1
check "dpkg --purge removes them" [ $? -eq 0 ]
check "nothing of theirs is left" bash -c "! dpkg-query -W -f='\${Status}\n' $(sed 's/_.*//' debs.list | tr '\n' ' ') 2>/dev/null | grep -q installed"
for f in /usr/bin/udp-server /usr/share/man/man1/udp-server.1.gz /etc/udptun/controller.json \
         /etc/systemd/system/multi-user.target.wants/proxy-controller.service /var/lib/udptun \
         /usr/include/udptun /lib/systemd/system/proxy-controller.service; do
  check "purged: $f" [ ! -e "$f" ]
done
check "the dynamic linker forgot the libraries" bash -c "! ldconfig -p | grep -q libudplocal"
if [ $failures -ne 0 ]; then for f in install.log cc.log consumer.log purge.log; do echo "---- $f"; tail -15 $f; done; fi
exit $failures
EOF
printf '%s\n' "${debs[@]}" >"$work/debs.list"
cat >"$work/enter.sh" <<'EOF'
# In a new mount, network and pid namespace: an overlay over / (writes go to a tmpfs), /proc,
# /dev and the packages' directory inside it, then the checks in a chroot.
set -e
work=$1 version=$2
mkdir -p "$work/ovl" && mount -t tmpfs tmpfs "$work/ovl"
mkdir -p "$work/ovl/upper" "$work/ovl/work" "$work/ovl/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/ovl/upper,workdir=$work/ovl/work" "$work/ovl/root"
mount -t proc proc "$work/ovl/root/proc"
mount --rbind /dev "$work/ovl/root/dev"
mkdir -p "$work/ovl/root/debs" && mount --bind "$work" "$work/ovl/root/debs"
ip link set lo up
set +e
VERSION=$version chroot "$work/ovl/root" /bin/bash /debs/in-root.sh
EOF
if [ ${#debs[@]} -eq 6 ]; then
  timeout 300 unshare --mount --net --pid --fork --propagation private \
    bash "$work/enter.sh" "$work" "$version" >"$work/in-root.log" 2>&1
  rc=$?
  cat "$work/in-root.log"
  check "every check in the throwaway root passed" [ $rc -eq 0 ]
fi

host_after=$(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null | md5sum; getent passwd | md5sum; ls /etc/systemd/system/*.wants 2>/dev/null | md5sum)
check "the machine is as it was (packages, users, enabled units)" [ "$host_before" = "$host_after" ]

if [ $failures -ne 0 ]; then echo "---- build.log"; tail -25 "$work/build.log"; fi
echo "$failures failed"
[ $failures -eq 0 ]
