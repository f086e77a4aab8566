# Globalscale ESPRESSObin v7 (Marvell Armada 3720, 2x Cortex-A53, no ARMv8
# crypto extensions): a common branch-office router board.
#  - Ethernet: one mvneta port to a Marvell 88E6341 switch (DSA, mv88e6xxx);
#    the switch ports appear as wan, lan0, lan1.
#  - Crypto engine: Inside Secure EIP97 (driver crypto_safexcel), not the
#    CESA of Armada 38x/XP (marvell-cesa). Its AF_ALG drivers are named
#    safexcel-*, e.g. safexcel-rfc4106-gcm-aes, safexcel-authenc-hmac-sha256-cbc-aes.
#    Without it, AF_ALG falls back to the NEON code (aes-neon-bs, sha256-arm64).
#  - Console: the on-board UART, ttyMV0 at 115200.
#  - Boot: U-Boot in SPI NOR loads Image, the dtb and initramfs from the
#    first partition of the microSD card; partition 2 is the config store.

BOARD_DESC="ESPRESSObin v7 (Marvell Armada 3720)"
BOARD_RT_MODULES="mvneta mv88e6xxx dsa_core tag_dsa phylink marvell sdhci-xenon-driver mmc_block ext4 crypto_safexcel aes-neon-blk aes-neon-bs sha256-arm64 sha512-arm64 chacha-neon poly1305-neon"
BOARD_RT_CONSOLE=ttyMV0
BOARD_RT_WAN_IF=wan
BOARD_RT_LAN_IF="lan0 lan1"
BOARD_RT_NET_MODE=dhcp
BOARD_RT_CONFIG_DEV=/dev/mmcblk0p2
BOARD_RT_AFALG_DRIVERS="safexcel-rfc4106-gcm-aes safexcel-authenc-hmac-sha256-cbc-aes"
BOARD_DTB=marvell/armada-3720-espressobin-v7.dtb
BOARD_FLASH_LAYOUT=sd-ext4
# The vendor U-Boot's booti takes a plain Image (Image.gz needs a newer
# U-Boot with kernel_comp_addr_r).
BOARD_KERNEL_COMPRESS=none
