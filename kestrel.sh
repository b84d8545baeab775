#!/bin/sh
# The README's two commands, for a bare Debian 12 (no make, no compiler):
#   ./kestrel.sh run    install what is missing, build, attach with rules/
#   ./kestrel.sh test   install what is missing, build, run every test
# scripts/deps.sh installs every package (make included) before anything
# looks for one; then this is `make run` / `make test`, which people who
# already have make can type directly.
set -eu
cd "$(dirname "$0")"
case ${1:-} in
run | test) ;;
*)
	echo "usage: ./kestrel.sh run|test" >&2
	exit 2
	;;
esac
./scripts/deps.sh
exec make --no-print-directory "$1"
