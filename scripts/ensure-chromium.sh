#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is installed for the browser tests
# (tests/browser, driven by the `playwright` Python package with executable_path=/usr/bin/chromium).
# Idempotent: does nothing when chromium is already there. Never runs `playwright install`
# (that downloads a browser build, which this project does not do).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "error: chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
        exit 1
    fi
else
    SUDO=
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: chromium is missing and this is not a Debian/Ubuntu machine; install Chromium at /usr/bin/chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "error: chromium did not install" >&2; exit 1; }
echo "chromium: $(chromium --version 2>/dev/null | head -1)"
