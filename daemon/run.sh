#!/bin/sh
# Sets up and runs sbcd: installs what it needs (daemon/deps.sh), builds it
# in build/ and starts it in the foreground on cfg/sbcd.conf, whose values
# are the built-in defaults (no external service). Stop it with Ctrl-C or
# SIGTERM. Works from any directory.
set -eu

cd "$(dirname "$0")/.."

sh daemon/deps.sh

if [ -f build/meson-private/coredata.dat ]; then
	meson setup --reconfigure build
else
	meson setup build
fi

meson compile -C build

exec build/daemon/sbcd -c cfg/sbcd.conf
