# QEMU "virt" machine, arm64, -cpu max,pauth-impdef=on (scripts/qemu-run).
# The emulated CPU has the ARMv8 crypto extensions, so the kernel's CE drivers
# (gcm-aes-ce, sha2-ce, ...) back AF_ALG.

BOARD_DESC="QEMU virt arm64 (TCG)"
BOARD_RT_MODULES="virtio_mmio virtio_pci virtio_net virtio_blk ext4 aes-ce-cipher aes-ce-blk ghash-ce sha1-ce sha2-ce sha512-ce chacha-neon poly1305-neon"
BOARD_RT_CONSOLE=ttyAMA0
BOARD_RT_WAN_IF=eth0
# QEMU user networking: the guest is always 10.0.2.15, the host 10.0.2.2.
# Static saves the DHCP round trip on every boot.
BOARD_RT_NET_MODE=static
BOARD_RT_NET_ADDR=10.0.2.15/24
BOARD_RT_NET_GW=10.0.2.2
BOARD_RT_NET_DNS=10.0.2.3
BOARD_RT_AFALG_DRIVERS="gcm-aes-ce sha256-ce"
BOARD_FLASH_LAYOUT=initramfs
# A/B slots: the system disk scripts/qemu-run --system-disk attaches (U-Boot
# from Debian's u-boot-qemu as the firmware, docs/upgrade.md). QEMU's virt
# machine numbers virtio-mmio disks from the last one given: the system disk
# comes last so it is U-Boot's virtio 0, which makes it the kernel's vda and
# the config store vdb. Both are found by label, so direct boots (no system
# disk, the config store alone is vda) need no other settings.
BOARD_RT_CONFIG_DEV=LABEL=sitelink-config
BOARD_RT_SLOT_A_DEV=LABEL=sitelink-a
BOARD_RT_SLOT_B_DEV=LABEL=sitelink-b
# Watchdog: the Intel 6300ESB that scripts/qemu-run attaches on the virt
# machine's PCIe bus (-device i6300esb, -action watchdog=reset; the virt
# machine has no watchdog of its own). The driver splits heartbeat between
# the card's two stages: the reset comes 90 s after the last pet. A real
# board's 30 s is too short here: under TCG on a busy host the first boot step
# after arming (modprobe of the board and crypto modules, whose self-tests run
# at load) took over 30 s and the watchdog reset a healthy trial boot.
BOARD_RT_WATCHDOG="i6300esb heartbeat=90"
