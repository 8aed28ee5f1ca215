# The Perennial image: worker (default command) and CLI. Runs from TypeScript
# source through tsx, as in development. tfjs-node's install script is allowed
# here: a machine with internet can download libtensorflow.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --allow-scripts=@tensorflow/tfjs-node || npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
CMD ["npx", "tsx", "src/worker/main.ts"]
