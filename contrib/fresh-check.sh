#!/bin/bash
# fresh-check.sh: run the README's two commands, exactly as README writes them, as root on a
# fresh minimal Debian 12 root: what a newcomer with a new machine or a container image types.
# The packages present on a developer's machine cannot hide a missing install step there.
#
#   contrib/fresh-check.sh [REF]     (as root; REF defaults to HEAD: what is committed)
#
# The root is built with "mmdebstrap --variant=apt bookworm" once and cached as a tarball
# (BACKSTOP_FRESH_CACHE, default /var/cache/backstop-fresh; delete it to take a newer
# bookworm). Each run unpacks a new copy under BACKSTOP_FRESH_TMP (default /var/tmp), adds
# /usr/sbin/policy-rc.d as container images ship it, puts "git archive REF" in /root/backstop,
# makes the root a mount point of its own (as "/" is in a container), mounts /proc, /sys and
# /dev, and runs each command in order. It prints a line per command (exit status, seconds)
# and "fresh: N passed, M failed", ends every process still running in the root (the demo
# leaves its daemons running), unmounts and removes it. Exit status 0 only if all passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-HEAD}
cache=${BACKSTOP_FRESH_CACHE:-/var/cache/backstop-fresh}
tarball="$cache/bookworm-apt.tar"
mirror=${BACKSTOP_FRESH_MIRROR:-http://deb.debian.org/debian}

die() { echo "fresh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run me as root: building a root and mounting in it need it"
git -C "$top" rev-parse --verify -q "$ref^{commit}" > /dev/null || die "no commit $ref in $top"

# readme_commands: the commands of README's first code block, without their comments
readme_commands() {
	git -C "$top" show "$ref:README.md" |
		sed -n '/^```/{:a;n;/^```/q;s/[[:space:]]*#.*$//;/./p;ba;}'
}
mapfile -t cmds < <(readme_commands)
[ "${#cmds[@]}" -eq 2 ] || die "README.md's first code block should hold 2 commands, found ${#cmds[@]}"

if [ ! -f "$tarball" ] || [ ! -s "$tarball" ]; then
	rm -rf "$tarball"	# an earlier version could leave a directory of this name
	command -v mmdebstrap > /dev/null || {
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap
	} > /dev/null || die "could not install mmdebstrap"
	mkdir -p "$cache"
	echo "fresh: building a minimal Debian 12 root (mmdebstrap --variant=apt bookworm)"
	# mmdebstrap picks the output's format from its name: it must end in .tar
	tmp_tarball="$cache/bookworm-apt.partial.tar"
	rm -rf "$tmp_tarball"
	mmdebstrap --quiet --variant=apt bookworm "$tmp_tarball" "$mirror" ||
		{ rm -rf "$tmp_tarball"; die "mmdebstrap failed"; }
	mv "$tmp_tarball" "$tarball"
fi

root=$(mktemp -d "${BACKSTOP_FRESH_TMP:-/var/tmp}/backstop-fresh.XXXXXX")
mounted=()

# in_root_pids: every process whose root directory is the fresh root (or below it)
in_root_pids() {
	local d r
	for d in /proc/[0-9]*; do
		r=$(readlink "$d/root" 2>/dev/null) || continue
		case "$r" in "$root" | "$root"/*) echo "${d#/proc/}" ;; esac
	done
}

# stop_all: end what the commands left running (TERM, then KILL after 15 s), unmount, remove
stop_all() {
	local pids i m
	pids=$(in_root_pids)
	if [ -n "$pids" ]; then
		echo "fresh: ending $(echo $pids | wc -w) process(es) left running in the root"
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			[ -z "$(in_root_pids)" ] && break
			sleep 0.1
		done
		pids=$(in_root_pids)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do [ -z "$(in_root_pids)" ] && break; sleep 0.1; done
	fi
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount -R "$m" 2>/dev/null || umount -R -l "$m" || echo "fresh: could not unmount $m" >&2
	done
	mounted=()
	# only remove what is no longer a mount: never follow a mount out of the root
	if findmnt -rn -o TARGET | grep -q "^$root"; then
		echo "fresh: $root still has mounts; left in place" >&2
	else
		rm -rf "$root"
	fi
}
finish() {
	local rc=$?
	stop_all
	exit "$rc"
}
trap finish EXIT
trap 'exit 1' INT TERM

echo "fresh: unpacking the root in $root"
tar -C "$root" -xf "$tarball"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$root/root/backstop"
git -C "$top" archive "$ref" | tar -C "$root/root/backstop" -xf -

# mount_in TARGET ARGS...: mount, and remember to unmount; a failure stops the run
mount_in() {
	local target=$1
	shift
	mount "$@" "$target" || die "could not mount $target ($*)"
	mounted+=("$target")
}
mount_in "$root" --bind "$root"
mount_in "$root/proc" -t proc proc
mount_in "$root/sys" --rbind /sys
mount --make-rslave "$root/sys" || die "could not make $root/sys a slave mount"
mount_in "$root/dev" --rbind /dev
mount --make-rslave "$root/dev" || die "could not make $root/dev a slave mount"

passed=0
failed=0
fresh_lines=()
n=0
for c in "${cmds[@]}"; do
	n=$((n + 1))
	echo "fresh: [$n] running \`$c\` in /root/backstop"
	start=$(date +%s)
	rc=0
	# a login shell's environment, as a newcomer's root shell in a container has
	env -i HOME=/root TERM=dumb LOGNAME=root USER=root SHELL=/bin/bash \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    chroot "$root" /bin/bash -c "cd /root/backstop && $c" < /dev/null 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	fresh_lines+=("fresh: \`$c\` exit $rc, ${secs} s")
done

for l in "${fresh_lines[@]}"; do echo "$l"; done
echo "fresh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
