# Berth's control plane, for sites WITH a container registry (docker-compose.yml
# builds it; docs/install.md). Berth's own machines reach no registry, so it was
# checked there with --build-arg NODE_IMAGE=<a bookworm root filesystem made with
# debootstrap, plus node 20 and npm at node:20-bookworm-slim's paths and its
# `node` user>: it built (about 9 minutes on 2 cores), started as `node` with
# /app read-only, migrated, served /api/health and the agent image. About 1 GB:
# Next.js and its SWC binary, Prisma, the embedded PostgreSQL, ONNX Runtime.
#
#   docker build -t berth/control-plane:0.1.0 .
#   docker run -d -p 3000:3000 -v berth-data:/var/lib/berth \
#     -e DATABASE_URL=postgresql://... berth/control-plane:0.1.0
#
# With no DATABASE_URL it runs the embedded PostgreSQL in /var/lib/berth (as
# the image's non-root user, which embedded PostgreSQL requires).

ARG NODE_IMAGE=node:20-bookworm-slim

# What the postinstall (prisma generate) needs, so dependencies stay cached across source edits.
FROM ${NODE_IMAGE} AS base
WORKDIR /app
# onnxruntime-node's install script downloads CUDA files; Berth runs it on CPU.
ENV ONNXRUNTIME_NODE_INSTALL=skip NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
COPY package.json package-lock.json .npmrc prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma.mjs scripts/unref-timers.cjs ./scripts/

# Runtime dependencies only, then only this platform's ONNX Runtime binaries (the
# package ships every platform's, about 290 MB; this keeps about 45 MB).
FROM base AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund \
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -name "$arch" -exec rm -rf {} + \
 && npm cache clean --force

# The web build and the single-file agent, with the development dependencies.
FROM base AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && rm -rf .next/cache

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    CHECKPOINT_DISABLE=1 \
    ORT_DISABLE_TELEMETRY=1 \
    BERTH_DATA_DIR=/var/lib/berth \
    BERTH_HOST=0.0.0.0 \
    BERTH_PORT=3000
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/.next ./.next
COPY . .
COPY --from=build /app/dist ./dist
# The build above is of exactly these sources (one build context), so record them
# as its inputs: `npm start` rebuilds when they differ, and it cannot here (no
# development dependencies, and /app is not writable by the user Berth runs as).
# The agent bundle is touched for the same check of its own.
RUN node --import tsx --input-type=module -e 'import fs from "node:fs"; import { buildFingerprint } from "./server/build.ts"; fs.writeFileSync(".next/berth-build-fingerprint", buildFingerprint(".") + "\n")' \
 && touch dist/berth-agent.mjs \
 && ln -s /app/bin/berth.mjs /usr/local/bin/berth \
 && install -d -o node -g node -m 0711 /var/lib/berth
# The data folder: generated secrets, artifacts, built runtime/agent images,
# the embedded database when DATABASE_URL is not set.
VOLUME /var/lib/berth
# node (uid 1000) comes with the base image; /app stays root's and read-only to it.
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 CMD ["node", "scripts/healthcheck.mjs"]
# What `npm start` runs, without npm in between, so SIGTERM reaches Berth.
CMD ["node", "--import", "tsx", "server/main.ts"]
