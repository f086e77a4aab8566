# The firmware image built in a container by the same script as on a host
# (scripts/build-image), so both stay one build: scripts/docker-build runs it
# and test/image/docker-build.test.ts checks that its manifest (every file's
# sha256) equals the host build's.
#
#   scripts/docker-build --board qemu-virt-arm64 --out out/docker
#     (makes the base image with mmdebstrap when no registry is reachable,
#     then docker build --target image + docker cp)
#   With a registry and BuildKit:
#     docker build --target image --build-arg BOARD=qemu-virt-arm64 \
#       --output type=local,dest=out/qemu-virt-arm64 .
#   Boot it in QEMU inside a container (SSH on localhost:2222):
#     docker build --target qemu -t sitelink-qemu .
#     docker run -it --rm -p 127.0.0.1:2222:2222 -v $PWD/id.pub:/keys.pub:ro \
#       sitelink-qemu --authorized-keys /keys.pub
#
# The build stage is the build host's Debian release (12 "bookworm" today), so
# the cross compiler is the host's and both builds give the same bytes; the
# board's release (13 "trixie") comes from board/*/profile.sh and has its own
# apt lists inside build-image. Only the legacy builder's features are used
# (no RUN --mount): the Debian downloads stay cached in their own layer.
ARG BASE=debian:bookworm
ARG BOARD=qemu-virt-arm64

# ---- build: cross toolchain, Node + npm for esbuild and cmake-js
FROM ${BASE} AS build
ARG BOARD
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu \
      busybox-static cpio gzip xz-utils zstd advancecomp file debian-archive-keyring ca-certificates \
      nodejs \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
# Certificate authorities the build host added locally (e.g. a TLS-inspecting
# proxy in front of the npm registry): scripts/docker-build passes them in.
ARG EXTRA_CA_CERTS=
RUN if [ -n "${EXTRA_CA_CERTS}" ]; then \
      printf '%s\n' "${EXTRA_CA_CERTS}" > /usr/local/share/ca-certificates/build-host.crt && update-ca-certificates >/dev/null; \
    fi
# npm from its own release tarball, pinned and checked (scripts/image/fetch-npm.mjs):
# Debian's npm package drags in some 380 node-* packages.
ARG NPM_VERSION=10.9.9
ARG NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
COPY scripts/image/fetch-npm.mjs /tmp/
RUN NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt node /tmp/fetch-npm.mjs "${NPM_VERSION}" "${NPM_INTEGRITY}" /tmp/npm.tgz \
 && mkdir -p /opt/npm && tar -xzf /tmp/npm.tgz -C /opt/npm --strip-components=1 --no-same-owner && rm /tmp/npm.tgz \
 && ln -s /opt/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s /opt/npm/bin/npx-cli.js /usr/local/bin/npx \
 && npm --version
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm_config_cafile=/etc/ssl/certs/ca-certificates.crt npm ci --no-audit --no-fund --loglevel=error
# The board's Debian packages: resolved and downloaded in a layer of their own,
# reused until the board profiles or the image scripts change, or the host's
# build resolved other versions (DEBIAN_PACKAGES, from scripts/docker-build).
COPY board/ board/
COPY scripts/image/common.sh scripts/image/resolve-packages scripts/image/fetch-packages scripts/image/fetch-board scripts/image/
ARG DEBIAN_PACKAGES=
RUN bash scripts/image/fetch-board "${BOARD}" >/dev/null
COPY tsconfig.json ./
COPY native/CMakeLists.txt native/
COPY native/cmake/ native/cmake/
COPY native/src/ native/src/
COPY native/binding/ native/binding/
COPY native/test/ native/test/
COPY firmware/ firmware/
COPY scripts/bundle.mjs scripts/build-image scripts/
COPY scripts/image/ scripts/image/
# The build context has no .git: the commit and its time come as arguments.
ARG COMMIT=unknown
ARG SOURCE_DATE_EPOCH=0
# The upgrade public key (base64 PEM; scripts/docker-build passes the host's,
# scripts/image/upgrade-key) so both builds bake the same one.
ARG UPGRADE_PUBKEY=
RUN if [ -n "${UPGRADE_PUBKEY}" ]; then echo "${UPGRADE_PUBKEY}" | base64 -d > /tmp/upgrade.pub.pem; \
      export SITELINK_UPGRADE_PUBKEY=/tmp/upgrade.pub.pem; fi; \
    SITELINK_APT_MAX_AGE=-1 SITELINK_COMMIT="${COMMIT}" \
    bash scripts/build-image --board "${BOARD}" --out /out

# ---- image: just the artifacts (docker cp, or docker build --output)
FROM scratch AS image
ARG BOARD
COPY --from=build /out/${BOARD}/ /

# ---- qemu: boots the image; forwards listen on the container's own address
FROM ${BASE} AS qemu
ARG BOARD
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-system-arm e2fsprogs xz-utils \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/${BOARD}/ /sitelink/out/${BOARD}/
COPY scripts/qemu-run /sitelink/scripts/qemu-run
ENV SITELINK_BOARD=${BOARD}
EXPOSE 2222/tcp 500/udp 4500/udp
ENTRYPOINT ["/bin/sh", "-c", "exec bash /sitelink/scripts/qemu-run --board \"$SITELINK_BOARD\" --out /sitelink/out --listen 0.0.0.0 --config /sitelink/config.img \"$@\"", "qemu-run"]
