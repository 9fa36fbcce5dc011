# syntax=docker/dockerfile:1
# Omni Gateway image: `docker build -t omni-gateway .`, or `docker compose up` (see docker-compose.yml).
# test/container.test.ts performs these steps without Docker (production install of the built output,
# started against the upstream simulator); keep the two in step.

# Node 24 is an LTS line (supported to April 2028); better-sqlite3 ships prebuilt binaries for it.
ARG NODE_IMAGE=node:24-bookworm-slim

# Toolchain for better-sqlite3's native addon, used when no prebuilt binary fits the platform.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# 1. Build: every dependency, then compile src/ to dist/.
FROM toolchain AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (the native addon is built here, against the runtime's Node).
FROM toolchain AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: no compiler, no dev dependencies, no sources; runs as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    TENANTS_FILE=/config/tenants.json \
    MALLOC_ARENA_MAX=1
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The store's file lives in /data (a volume); the tenants file is mounted read-only at /config.
RUN mkdir -p /data /config && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: stop accepting, finish requests in flight, close the pool and the store, exit 0.
STOPSIGNAL SIGTERM
# The same memory and GC settings as `npm start` (README, "Memory"): a test keeps the two equal.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=75", "--single-threaded-gc", "dist/server.js"]
