#!/usr/bin/env bash
# install-deps.sh: make sure the build and test dependencies of uaaf are on
# this machine (Debian). Installs what is missing with apt-get when run as
# root; otherwise names the packages to install and fails.
#
# Usage: tools/install-deps.sh [--kmod] [--e2e]
#   --kmod  also kernel headers and sparse (for building/checking kmod/),
#           and zsh (make test checks the zsh completion script with it)
#   --e2e   also what the end-to-end tests drive: containerd and ctr (the
#           shim's test, which fails under UAAF_REQUIRE_KVM=1 without them)
set -euo pipefail

kmod=0 e2e=0
for arg in "$@"; do
	case "$arg" in
	--kmod) kmod=1 ;;
	--e2e) e2e=1 ;;
	*) echo "install-deps: unknown option $arg (want --kmod, --e2e)" >&2; exit 2 ;;
	esac
done

want=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || want+=("$2"); }
need_file() { [ -e "$1" ] || want+=("$2"); }

need_cmd gcc gcc
need_cmd make make
need_cmd ld binutils
need_file /usr/include/linux/kvm.h linux-libc-dev
need_cmd ip iproute2
if [ $kmod = 1 ]; then
	need_cmd sparse sparse
	ls -d /lib/modules/*/build/Makefile >/dev/null 2>&1 || want+=(linux-headers-amd64)
	# Kbuild of newer headers needs these host tools.
	need_cmd bc bc
	need_cmd flex flex
	need_cmd bison bison
	need_file /usr/include/libelf.h libelf-dev
	need_cmd zsh zsh
fi
if [ $e2e = 1 ]; then
	# Debian's containerd package ships containerd and ctr (and pulls in
	# runc); crictl is not packaged, so the CRI test skips without it.
	need_cmd containerd containerd
	need_cmd ctr containerd
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	echo "install-deps: go is at /usr/local/go/bin; add it to PATH" >&2
fi

[ ${#want[@]} -eq 0 ] && exit 0
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages: ${want[*]} (run: sudo apt-get install -y ${want[*]})" >&2
	exit 1
fi
echo "install-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${want[@]}" >/dev/null
