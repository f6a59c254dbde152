# Two images from one file: `server` (the default, last stage) and `worker` (the example worker).
# Both run compiled JavaScript (`npm run build`: tsc to dist/, see scripts/build.mjs) with node
# as PID 1 (exec-form CMD: SIGTERM reaches the program, which drains and exits 0), as the
# base image's unprivileged `node` user (uid 1000), over production dependencies only.
# Development tools (tools/: local Redis/Postgres launchers, the `npm run dev` stack, tsx) are
# in neither image. scripts/check-image.sh replays these steps without a Docker engine (CI).
#
# Installing: `npm ci` refuses this project's lock (vite's optional peer range for esbuild is
# not met by the pinned esbuild, so npm wants an esbuild the lock does not list), and
# `npm install` then installs the exact versions the lock pins. It is run that way here.

# Build stage: all dependencies (tsc, esbuild), the compiled program and the web dashboard.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund || npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/build-web.ts ./scripts/
COPY gen ./gen
COPY wire ./wire
COPY server ./server
COPY worker ./worker
COPY clients/web ./clients/web
RUN npm run build:web && npm run build

# Runtime: production dependencies only (no tsx, no compilers; optional dependencies, the
# embedded Postgres of `npm run dev`, are left out too), then the compiled program, owned by
# root and only readable by the user that runs it.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund || npm install --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund) && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node

FROM runtime AS worker
CMD ["node", "dist/worker/example/main.js"]

FROM runtime AS server
EXPOSE 50051 8080
CMD ["node", "--max-semi-space-size=64", "--import", "./dist/server/observability/tracing-register.js", "dist/server/main.js"]
