#!/usr/bin/env bash
# Refresh the README's screenshots (docs/screenshots/) from the browser tests; a plain test run
# writes them to ./screenshots/, which git ignores. Needs Debian's chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KHUDAN_SCREENSHOTS="$PWD/docs/screenshots" pytest -q tests/browser "$@"
git status --short docs/screenshots
