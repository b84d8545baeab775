#!/bin/sh
# `make run`: attach Kestrel with the shipped rules and stream alerts.
# Programs are detached again on Ctrl-C (--detach-on-exit).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "make run: Kestrel loads BPF programs: run it as root (sudo make run)" >&2
	exit 3
fi
echo "kestrel: attaching with the rules in rules/ (Ctrl-C to stop)" >&2
echo "kestrel: try in another terminal:  cp /bin/true /tmp/kestrel-demo && /tmp/kestrel-demo" >&2
exec ./build/kload attach --detach-on-exit --metrics 127.0.0.1:9464 rules/ "$@"
