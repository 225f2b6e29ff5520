#!/usr/bin/env node
// The control plane's container health check (Dockerfile HEALTHCHECK and
// docker-compose.yml): exit 0 when GET /api/health answers 2xx (Berth is up and
// its database answers), else 1. Node only, because the image has no curl.
//   node scripts/healthcheck.mjs [URL]   (default http://127.0.0.1:$BERTH_PORT/api/health)
const url = process.argv[2] ?? `http://127.0.0.1:${process.env.BERTH_PORT || 3000}/api/health`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!response.ok) process.stderr.write(`healthcheck: ${url} answered ${response.status}\n`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${url}: ${error.cause?.code ?? error.message}\n`);
  process.exit(1);
}
