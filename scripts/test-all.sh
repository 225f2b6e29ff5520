#!/usr/bin/env bash
# The whole test suite: typecheck, lint, unit tests, integration tests
# against a real PostgreSQL, then Playwright in real Chromium against a real
# Berth (production build, embedded PostgreSQL in a throw-away data folder).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
results=$(mktemp -d)
export BERTH_E2E_DATA_DIR
BERTH_E2E_DATA_DIR=$(mktemp -d /tmp/berth-e2e-XXXXXX)
chmod 711 "$BERTH_E2E_DATA_DIR" # embedded PostgreSQL runs as 'postgres' and must pass through
trap 'rm -rf "$BERTH_E2E_DATA_DIR" "$results"' EXIT

step() { printf '\n==> %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

step "provisioning"
bash scripts/provision.sh chromium openssl python3 docker docker-compose

step "prisma client"
node scripts/prisma.mjs generate >/dev/null

step "typecheck"
npx tsc --noEmit

step "lint"
npx eslint --max-warnings 0 .

step "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"

step "production build"
npm run --silent build

step "end-to-end tests (Playwright, Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME="$results/playwright.json" npx playwright test --reporter=list,json

step "done"
node scripts/summarise-tests.mjs "$results/vitest.json" "$results/playwright.json"
echo "total time: $(( $(date +%s) - started )) s"
