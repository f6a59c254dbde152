# Two images from one file: `server` (the default, last stage) and `worker` (the example
# worker). The server image holds what the server imports and nothing else: gen/, wire/ and
# server/ (the package graph, `npm run lint:deps`, keeps it so), plus the built dashboard; the worker image holds the SDK
# with gen/ and wire/. Development tools (tools/: local Redis/Postgres launchers, the
# `npm run dev` stack) are in neither.
FROM node:20-bookworm-slim AS base
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies stay: esbuild's platform binary (tsx runs the server) is one. `npm ci`
# needs every platform's optional entries in the lock, which some registries do not serve: the
# same locked versions then come from `npm install`.
RUN npm ci --omit=dev --ignore-scripts || npm install --omit=dev --ignore-scripts --no-audit --no-fund
COPY gen ./gen
COPY wire ./wire
COPY tsconfig.json ./
ENV NODE_ENV=production

# The web dashboard, built with the dev dependencies (esbuild) in a stage of its own: the server
# image gets only the built files (clients/web/dist, its default DASHBOARD_DIR).
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts || npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY gen ./gen
COPY scripts/build-web.ts ./scripts/build-web.ts
COPY clients/web ./clients/web
RUN npm run build:web

FROM base AS worker
COPY worker ./worker
CMD ["npm", "run", "worker"]

FROM base AS server
COPY server ./server
COPY --from=web /app/clients/web/dist ./clients/web/dist
EXPOSE 50051 8080
CMD ["npm", "run", "server"]
