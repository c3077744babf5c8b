# syntax=docker/dockerfile:1
# The scalepass image for those who build with Docker (or Podman, Buildah, kaniko). It has the same
# files and config as `npm run image`, which builds it without a container engine: the build stage
# runs the same staging code (scripts/image.ts --stage-only, scripts/image/stage.ts) and the final
# stage sets what scripts/image/spec.ts says; test/unit/image-dockerfile.test.ts keeps the two in
# step. It is not built by the tests (there is no container engine where they run), and its digest
# differs from npm run image's: the engine writes its own layer tars.
#
#   docker build -t scalepass:0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u -d @"$(git log -1 --format=%ct)" +%Y-%m-%dT%H:%M:%SZ)" \
#     --build-arg SOURCE=<where the source is> .

# any Node ≥ 22 on Debian 12 to run npm ci; the pinned Node (npm's `node` devDependency) does the rest,
# and apt here fetches the same Debian 12 packages npm run image takes its files from
FROM node:24-bookworm-slim AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG REVISION=unknown
RUN SCALEPASS_GIT_COMMIT="$(printf %.12s "$REVISION")" npm run build \
 && node_modules/.bin/node scripts/image.ts --stage-only /stage

FROM scratch
# one layer each, bottom first, as npm run image lays them: the Debian files, Node, the app
COPY --from=build /stage/base/ /
COPY --from=build /stage/node/ /
COPY --from=build /stage/app/ /
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED
ARG SOURCE
LABEL org.opencontainers.image.title="scalepass" \
      org.opencontainers.image.description="KEDA-compatible event-driven autoscaling as a Kubernetes CronJob: one short pass, no resident operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}"
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/run.js"]
