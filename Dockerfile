# Two images from one file: `server` (the default, last stage) and `worker` (the example
# worker). The server image holds what the server imports and nothing else: gen/, wire/ and
# server/ (the package graph, `npm run lint:deps`, keeps it so); the worker image holds the SDK
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

FROM base AS worker
COPY worker ./worker
CMD ["npm", "run", "worker"]

FROM base AS server
COPY server ./server
EXPOSE 50051 8080
CMD ["npm", "run", "server"]
