# syntax=docker/dockerfile:1
# The firmware image built in a container by the same script as on a host
# (scripts/build-image), so both stay one build.
#
#   Image files only (vmlinuz, initramfs.cpio.gz, manifest.json):
#     docker build --target image --build-arg BOARD=qemu-virt-arm64 \
#       --output type=local,dest=out/qemu-virt-arm64 .
#   Boot it in QEMU inside a container (SSH on localhost:2222):
#     docker build --target qemu -t sitelink-qemu .
#     docker run -it --rm -p 127.0.0.1:2222:2222 -v $PWD/id.pub:/keys.pub:ro \
#       sitelink-qemu --authorized-keys /keys.pub
#
# The build context is copied selectively (no node_modules, .cache or out/
# from the host).

ARG BOARD=qemu-virt-arm64

# ---- build: Debian 12 with Node 20 (package.json engines), cross toolchain
FROM node:20-bookworm AS build
ARG BOARD
ARG COMMIT=unknown
# The official Node image keeps its headers in /usr/local/include/node; the
# repository's .npmrc names a Debian-style /usr. The environment wins over .npmrc.
ENV DEBIAN_FRONTEND=noninteractive \
    npm_config_nodedir=/usr/local \
    SITELINK_COMMIT=${COMMIT}
# arm64 is added as a foreign architecture for `apt-get download` only:
# build-image unpacks arm64 packages into its own trees, never installs them.
RUN dpkg --add-architecture arm64 \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libssl-dev \
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu \
      busybox-static cpio gzip file xz-utils \
 && apt-get clean
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY board/ board/
COPY native/CMakeLists.txt native/
COPY native/cmake/ native/cmake/
COPY native/src/ native/src/
COPY native/binding/ native/binding/
COPY native/test/ native/test/
COPY firmware/ firmware/
COPY scripts/ scripts/
# apt lists are refreshed here too: build-image asks apt for candidates.
RUN apt-get update -qq \
 && bash scripts/build-image --board "${BOARD}" --out /out

# ---- image: just the artifacts, for `docker build --output`
FROM scratch AS image
ARG BOARD
COPY --from=build /out/${BOARD}/ /

# ---- qemu: boots the image; forwards listen on the container's own address
FROM debian:bookworm-slim AS qemu
ARG BOARD
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends qemu-system-arm e2fsprogs \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/${BOARD}/ /sitelink/out/${BOARD}/
COPY scripts/qemu-run /sitelink/scripts/qemu-run
ENV SITELINK_BOARD=${BOARD}
EXPOSE 2222/tcp 500/udp 4500/udp
ENTRYPOINT ["/bin/sh", "-c", "exec bash /sitelink/scripts/qemu-run --board \"$SITELINK_BOARD\" --out /sitelink/out --listen 0.0.0.0 --config /sitelink/config.img \"$@\"", "qemu-run"]
