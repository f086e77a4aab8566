# Defaults for every board profile (sourced by scripts/image/common.sh before
# board/<name>/profile.sh, which overrides what differs). Plain bash
# variables: the build reads them, and the BOARD_RT_* ones are also written
# to /etc/sitelink/board.env in the image for the init scripts.

BOARD_DESC="generic arm64"
BOARD_ARCH=arm64
# Debian release the image is made of (its own apt lists: scripts/image/common.sh
# target_apt). 13 "trixie": Node 20, kernel 6.12.
BOARD_SUITE=trixie
BOARD_KERNEL_PKG=linux-image-arm64
# Debian arm64 packages unpacked into the root filesystem (their library
# dependencies are resolved by scripts/image/resolve-packages).
# libzstd1: /usr/lib/sitelink/unbcj-zstd unpacks the deferred-zstd parts of
# the root filesystem at boot (BOARD_INITRAMFS_COMPRESS below); a profile with
# xz "deferred" parts gets xz-utils as well (scripts/image/fetch-board).
BOARD_PACKAGES=(busybox nodejs dropbear-bin nftables libssl3t64 libzstd1)

# Kernel modules, loaded at boot: the board's (BOARD_RT_MODULES) first, then
# these common ones (AF_ALG and the ESP algorithm templates, TUN, nftables;
# nft_fib_inet for the policy table's "fib daddr type" exemptions, firmware/src/policy/nft.ts).
# Crypto modules are loaded explicitly: left to autoload, the kernel may bind
# generic C code before the accelerated driver exists (shared/reference/facts.md).
# crc32c for the config store's ext4 (metadata_csum), loaded with the board's
# modules before the store is mounted: left to the mount, the kernel starts a
# modprobe of its own for it (scripts/build-image installs these too).
BOARD_RT_STORE_MODULES="crc32c_generic"
BOARD_RT_BASE_MODULES="af_alg algif_aead algif_skcipher algif_hash authenc echainiv seqiv gcm ghash-generic des_generic chacha20poly1305 tun nf_tables nft_ct nft_chain_nat nft_fib_inet"
BOARD_RT_MODULES=""

BOARD_RT_CONSOLE=ttyAMA0
# IP forwarding the router turns on itself at boot (/etc/init.d/rcS, before any
# interface is up): "ipv4", "ipv6", both or none. A branch router forwards
# between its LAN, its WAN and the tunnels' TUN devices; the base WAN filter
# (/etc/init.d/firewall) drops what the WAN sends to be forwarded unless it
# answers traffic from inside.
BOARD_RT_FORWARDING="ipv4 ipv6"
BOARD_RT_WAN_IF=eth0
BOARD_RT_LAN_IF=""
# dhcp (busybox udhcpc) or static (BOARD_RT_NET_ADDR / BOARD_RT_NET_GW).
BOARD_RT_NET_MODE=dhcp
BOARD_RT_NET_ADDR=""
BOARD_RT_NET_GW=""
BOARD_RT_NET_DNS=""
# Block device holding the persistent config store (ext4, mounted on /config).
BOARD_RT_CONFIG_DEV=""
# AF_ALG driver names (or substrings of them) this board should bind for the
# ESP transforms; checked by the image test and shown by the boot log.
BOARD_RT_AFALG_DRIVERS=""

# ICU locales kept besides root (scripts/image/slim-icu): Intl in other
# languages falls back to root's formats.
BOARD_ICU_LOCALES="en en_US en_US_POSIX en_001"
# Compression of the root filesystem (xz, zstd, gzip, lz4; see compressor_cmd
# in scripts/image/common.sh), "DEFAULT COMPONENT=COMPRESSOR..." per component
# of scripts/image/pack-initramfs, and of the kernel (lzma, gzip: Image.gz, or
# none: what the board's boot loader unpacks; scripts/build-image).
# Measured (docs/boot-time.md): xz takes 3-4x zstd's time to unpack under
# QEMU, and zstd has no arm64 branch filter. Node, ICU and OpenSSL (67 MiB,
# only Node reads them) are "deferred": the kernel leaves them packed and /init
# unpacks them on both CPUs during the boot (the kernel's own unpacking: 17 s
# -> 3 s under QEMU). They are "deferred-zstd": zstd after the ARM64 branch
# filter, which the board undoes in one pass (libnode, 48 MiB: 0.7 s on the
# idle emulated board against xz's 2.1 s on both CPUs). The rest is zstd for
# the kernel. All zstd costs 1.0 MB more than xz where it packs best; the
# lzma kernel below paid for it (first ping 1-2.5 s sooner in alternating
# boots: the kernel's unpack 0.6 s shorter, the deferred parts' 1.4 s).
BOARD_INITRAMFS_COMPRESS="zstd node=deferred-zstd icu=deferred-zstd openssl=deferred-zstd"
# Kernel arguments of every boot (U-Boot's boot script and scripts/qemu-run,
# through manifest.json's kernelArgs). initcall_blacklist skips built-in
# initcalls on the kernel's serial path before /init that nothing on the board
# uses: the SP800-108 KDF's self-test (the KDF serves keyctl's DH and encrypted
# keys only; the algorithms sitelink uses keep their self-tests), the
# "encrypted" key type, and the BPF TCP congestion-control and dummy struct_ops
# registrations (no BPF programs run here). Measured: docs/boot-time.md.
BOARD_KERNEL_ARGS="initcall_blacklist=crypto_kdf108_init,init_encrypted,bpf_tcp_ca_kfunc_init,bpf_dummy_struct_ops_init"
# The kernel: lzma is 9.8 MB against gzip's 13.1 and zstd's 11.3 (Debian's
# u-boot-qemu, 12 and 13, is built without zstd). The price is U-Boot's unpack:
# 3.2 s under TCG against gzip's 0.7 s, on U-Boot boots only (QEMU's direct
# boot gets the Image unpacked on the host, docs/boot-time.md).
BOARD_KERNEL_COMPRESS=lzma

# Kernel image and device tree as the boot loader wants them.
BOARD_DTB=""
# How scripts/flash lays the image out on the board's boot medium:
#   initramfs  - out/<board>/ is booted directly (QEMU), flash makes bundles only
#   ab         - the A/B system disk below (scripts/image/system-disk), its
#                fourth partition the config store (kept when re-flashed)
BOARD_FLASH_LAYOUT=initramfs

# A/B system slots for remote upgrade with rollback (docs/upgrade.md), on the
# boot medium (QEMU: the system disk scripts/qemu-run --system-disk attaches):
#   sector 0            MBR
#   sector 2040         the boot-state record (512 bytes, U-Boot text env)
#   p1  1 MiB, 15 MiB   "sitelink-boot": boot.scr, the fixed A/B boot script
#   p2 16 MiB, 96 MiB   slot a: vmlinuz, initramfs, [board.dtb], manifest.json(.sig)
#   p3 112 MiB, 96 MiB  slot b: the same
#  [p4 START:MiB        "sitelink-config": the config store, on boards that keep
#                       it on the same medium (QEMU has a drive of its own)]
BOARD_SLOT_LAYOUT="1:15 16:96 112:96"
BOARD_RT_SLOT_A_DEV=""
BOARD_RT_SLOT_B_DEV=""
BOARD_RT_BOOTSTATE_SECTOR=2040
# The hardware watchdog a trial boot runs under (board/common/rootfs/etc/init.d/rcS,
# docs/upgrade.md): "MODULE PARAM=VALUE..." as modprobe takes it, the parameter
# setting its timeout. Empty: no watchdog, a trial that hangs stays hung.
BOARD_RT_WATCHDOG=""
# Seconds a new slot has after boot to get sitelinkd up and every start = start
# tunnel established before it reboots into the old one (sitelinkctl upgrade
# --commit-timeout overrides it per upgrade).
BOARD_RT_UPGRADE_TIMEOUT=180
# U-Boot: load addresses the boot script uses (RAM of the board), panic= of
# the kernel command line (a panicking trial slot resets into the old one).
BOARD_UBOOT_KERNEL_ADDR=0x40400000
BOARD_UBOOT_KERNEL_COMP_ADDR=0x58000000
BOARD_UBOOT_RAMDISK_ADDR=0x50000000
BOARD_UBOOT_FDT_ADDR=0x4f100000
BOARD_UBOOT_STATE_ADDR=0x4f000000
BOARD_UBOOT_PANIC=5
# console= of the kernel command line the boot script writes (default
# BOARD_RT_CONSOLE).
BOARD_UBOOT_CONSOLE=""
