# One image for the server and the example worker (the command picks which). Development
# tools (tools/: local Redis/Postgres launchers, the `npm run dev` stack) are not part of it.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts
COPY gen ./gen
COPY server ./server
COPY worker ./worker
COPY tsconfig.json ./
ENV NODE_ENV=production
EXPOSE 50051 8080
CMD ["npm", "run", "server"]
