# Globalscale ESPRESSObin v7 (Marvell Armada 3720, 2x Cortex-A53, no ARMv8
# crypto extensions): a common branch-office router board.
#  - Ethernet: one mvneta port to a Marvell 88E6341 switch (DSA, mv88e6xxx);
#    the switch ports appear as wan, lan0, lan1.
#  - Crypto engine: Inside Secure EIP97 (driver crypto_safexcel), not the
#    CESA of Armada 38x/XP (marvell-cesa). Its AF_ALG drivers are named
#    safexcel-*, e.g. safexcel-rfc4106-gcm-aes, safexcel-authenc-hmac-sha256-cbc-aes.
#    Without it, AF_ALG falls back to the NEON code (aes-neon-bs, sha256-arm64).
#  - Console: the on-board UART, ttyMV0 at 115200.
#  - Boot: U-Boot in SPI NOR runs the A/B boot script (boot.scr) from the
#    first partition of the microSD card, which loads Image, the dtb and the
#    initramfs from slot a or b (docs/upgrade.md); partition 4 is the config
#    store. Untested on hardware: none here.

BOARD_DESC="ESPRESSObin v7 (Marvell Armada 3720)"
BOARD_RT_MODULES="mvneta mv88e6xxx dsa_core tag_dsa phylink marvell sdhci-xenon-driver mmc_block ext4 crypto_safexcel aes-neon-blk aes-neon-bs sha256-arm64 sha512-arm64 chacha-neon poly1305-neon"
BOARD_RT_CONSOLE=ttyMV0
BOARD_RT_WAN_IF=wan
BOARD_RT_LAN_IF="lan0 lan1"
BOARD_RT_NET_MODE=dhcp
# Found by label (scripts/image/system-disk names them): the card is mmcblk0
# or mmcblk1 depending on whether the board has eMMC.
BOARD_RT_CONFIG_DEV=LABEL=sitelink-config
BOARD_RT_SLOT_A_DEV=LABEL=sitelink-a
BOARD_RT_SLOT_B_DEV=LABEL=sitelink-b
BOARD_RT_AFALG_DRIVERS="safexcel-rfc4106-gcm-aes safexcel-authenc-hmac-sha256-cbc-aes"
BOARD_DTB=marvell/armada-3720-espressobin-v7.dtb
# The A/B system disk on the microSD card (scripts/flash write): boot, slots
# a and b as on QEMU, then the config store as partition 4.
BOARD_FLASH_LAYOUT=ab
BOARD_SLOT_LAYOUT="1:15 16:96 112:96 208:64"
# U-Boot's memory map on the Armada 3720 (RAM from 0; its own defaults for
# scriptaddr 0x6e00000, fdt_addr_r 0x6f00000, kernel_addr_r 0x7000000,
# ramdisk_addr_r 0xa000000): the boot-state sector below the script.
BOARD_UBOOT_KERNEL_ADDR=0x7000000
BOARD_UBOOT_KERNEL_COMP_ADDR=0x20000000
BOARD_UBOOT_RAMDISK_ADDR=0xa000000
BOARD_UBOOT_FDT_ADDR=0x6f00000
BOARD_UBOOT_STATE_ADDR=0x6d00000
BOARD_UBOOT_CONSOLE=ttyMV0,115200
# The vendor U-Boot's booti takes a plain Image (Image.gz needs a newer
# U-Boot with kernel_comp_addr_r).
BOARD_KERNEL_COMPRESS=none
# Watchdog: the Armada 37xx SoC's own (armada_37xx_wdt, watchdog@8300 in the
# dtb), 60 s.
BOARD_RT_WATCHDOG="armada_37xx_wdt timeout=60"
