#!/bin/sh
# install.sh: `make install` and `make uninstall`.
#
# Usage: tools/install.sh install|uninstall ROOT
#
# ROOT is $(DESTDIR)$(PREFIX). install copies the binaries, the guest SDK,
# the library and guest images, the man page and the completion scripts
# (all built already: make install depends on them) under ROOT, and writes
# a manifest, ROOT/share/uaaf/install-manifest: one line per file it
# installed ("f PATH") and per directory it had to create ("d PATH"),
# relative to ROOT. uninstall removes exactly those, the directories only
# when empty, deepest first. Installing over an earlier install uninstalls
# that first.
#
# Run from the top of the source tree.
set -eu

usage() {
	echo "usage: tools/install.sh install|uninstall ROOT" >&2
	exit 2
}
[ $# -eq 2 ] || usage
action=$1
root=$2
[ -n "$root" ] || usage
manifest_rel=share/uaaf/install-manifest
manifest=$root/$manifest_rel

# What is installed, as "MODE SOURCE DESTINATION-DIRECTORY".
LIBS="sha256 crc32 base64 sort testfns"
GUESTS="hello blk demo digest idle pause calltest callbench"
files() {
	for b in uaaf uaaf-ctl uaaf-mftgen; do
		echo "755 bin/$b bin"
	done
	for l in $LIBS; do
		echo "644 libfuncs/build/$l.hvt share/uaaf/lib"
	done
	for g in $GUESTS; do
		echo "644 guest/build/$g.hvt share/uaaf/guest"
	done
	echo "644 guest/sdk.mk share/uaaf/sdk"
	echo "644 guest/README.md share/uaaf/sdk"
	echo "644 guest/UAAF_ABI.md share/uaaf/sdk"
	for h in guest/include/*.h; do
		echo "644 $h share/uaaf/sdk/include"
	done
	echo "644 guest/lds/hvt.lds share/uaaf/sdk/lds"
	echo "644 guest/build/uaaf-hvt.o share/uaaf/sdk/lib"
	echo "644 bin/uaaf.1 share/man/man1"
	echo "644 bin/uaaf.bash share/bash-completion/completions/uaaf"
	echo "644 bin/_uaaf share/zsh/site-functions"
}

# record LINE: add LINE to the manifest being written ($list, a temporary
# file until the install is complete).
record() {
	echo "$1" >>"$list"
}

# makedir REL: create ROOT/REL and its missing parents, recording each.
makedir() {
	[ -d "$root/$1" ] && return 0
	case $1 in
	*/*) makedir "${1%/*}" ;;
	esac
	mkdir "$root/$1"
	record "d $1"
}

uninstall() {
	if [ ! -f "$manifest" ]; then
		echo "uninstall: no $manifest: nothing was installed there by make install" >&2
		exit 1
	fi
	list=$(mktemp)
	cp "$manifest" "$list"
	# Files first (the manifest among them), then the directories install
	# created, deepest first.
	sed -n 's/^f //p' "$list" | while read -r rel; do
		rm -f "$root/$rel"
	done
	sed -n 's/^d //p' "$list" | sort -r | while read -r rel; do
		rmdir "$root/$rel" 2>/dev/null || echo "uninstall: kept $root/$rel: not empty" >&2
	done
	rm -f "$list"
	echo "uninstalled from $root"
}

install_all() {
	for f in $(files | awk '{print $2}'); do
		[ -f "$f" ] || { echo "install: $f is missing (make install builds it first)" >&2; exit 1; }
	done
	mkdir -p "$root" # the prefix itself stays: uninstall leaves it empty
	if [ -f "$manifest" ]; then
		uninstall
	fi
	list=$(mktemp)
	files | while read -r mode src dst; do
		case $dst in
		*/completions/uaaf) dir=${dst%/*} name=uaaf ;;
		*) dir=$dst name=${src##*/} ;;
		esac
		makedir "$dir"
		install -m "$mode" "$src" "$root/$dir/$name"
		record "f $dir/$name"
	done
	makedir "${manifest_rel%/*}"
	record "f $manifest_rel"
	install -m 644 "$list" "$manifest"
	rm -f "$list"
	echo "installed under $root (manifest: $manifest)"
}

case $action in
install) install_all ;;
uninstall) uninstall ;;
*) usage ;;
esac
