# The Perennial image: worker (default command) and CLI. Runs from TypeScript
# source through tsx, as in development. node:20's npm runs install scripts, so
# a build with internet gets tfjs-node (native libtensorflow); without it the
# optional dependency is skipped and the worker uses the WASM backend.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
CMD ["npx", "tsx", "src/worker/main.ts"]
