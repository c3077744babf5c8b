// What the scalepass image is, in one place: `npm run image` (scripts/image.ts) assembles it from
// this, the Dockerfile says the same in Docker's words (test/unit/image-dockerfile.test.ts keeps the
// two in step), and test/e2e/image.test.ts checks the built image against it.

/** Debian packages the root filesystem takes files from (the C/C++ runtime Node links against,
 * CA certificates, time zone data). Their versions are whatever apt's candidate is when the image
 * is built; the build prints them and the image keeps them in /var/lib/dpkg/status.d/. */
export const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6', 'ca-certificates', 'tzdata'] as const;

/** The non-root user the image runs as, the uid/gid kustomize/base/cronjob.yaml asks for. */
/** home: no such directory, as Debian's system users have: the root filesystem is read-only */
export const USER = { name: 'nonroot', uid: 65532, gid: 65532, home: '/nonexistent' } as const;

export const NODE_PATH = '/usr/local/bin/node';
export const APP_DIR = '/app';
/** `node dist/run.js`, by absolute paths so a pod that sets workingDir still runs the same thing */
export const ENTRYPOINT = [NODE_PATH, `${APP_DIR}/dist/run.js`] as const;
export const WORKDIR = APP_DIR;
export const ENV = ['PATH=/usr/local/bin:/usr/bin:/bin'] as const;

/** The image's layers, bottom first: the part that changes with every commit (the app) on top, so a
 * new version of scalepass pushes a few MiB, not Node again. */
export const LAYERS = ['base', 'node', 'app'] as const;
export type LayerName = (typeof LAYERS)[number];

/** OCI annotation keys used as image labels (image-spec annotations.md). */
export const LABEL = {
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  version: 'org.opencontainers.image.version',
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  created: 'org.opencontainers.image.created',
  licenses: 'org.opencontainers.image.licenses',
} as const;
