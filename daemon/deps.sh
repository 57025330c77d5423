#!/bin/sh
# Installs what sbcd needs to build and run, from Debian's packages: the
# build tools and the libraries (libre, libconfig, xxhash, cmocka,
# liburing, hiredis, OpenSSL, libsrtp2), plus the packages named as
# arguments (tests/run.sh adds the test peers). Runs as root (or through
# sudo) and never asks a question, so it works with no terminal and no
# standard input. When every package is already installed it changes
# nothing, so reruns need no network.
set -eu

packages="meson ninja-build gcc pkg-config libc6-dev libre-dev libconfig-dev
libxxhash-dev libcmocka-dev liburing-dev libhiredis-dev libssl-dev
libsrtp2-dev $*"

missing=
for p in $packages; do
	if ! dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null |
	     grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: every package is installed"
	exit 0
fi

echo "deps: installing$missing"

sudo=
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi

# $sudo and $packages are unquoted on purpose: empty, or split into words
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends $packages </dev/null
