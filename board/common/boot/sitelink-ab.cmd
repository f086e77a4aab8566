# sitelink A/B boot for U-Boot (compiled with mkimage -T script into boot.scr
# by scripts/image/system-disk; docs/upgrade.md). Distro boot finds it on the
# boot partition and sets devtype/devnum; @...@ come from the board profile.
#
# The boot-state record is one 512-byte sector (BOARD_RT_BOOTSTATE_SECTOR, in hex here as U-Boot
# reads numbers) in the gap
# before partition 1, in U-Boot's text env format (name=value lines, then
# NUL bytes): sl_magic, sl_boot (committed slot a|b), sl_try (slot on trial
# or none), sl_left (boots the trial may still take), sl_failed (last trial
# that was not committed), sl_wait (seconds the system has to commit).
# Like U-Boot's bootcount/upgrade_available: each trial boot spends one try
# *before* the kernel starts, so a trial that hangs, panics or never commits
# falls back to the committed slot on the next reset.
setenv sl_magic none
setenv sl_boot a
setenv sl_try none
setenv sl_left 0
setenv sl_failed none
setenv sl_wait @UPGRADE_TIMEOUT@
setenv sl_addr @STATE_ADDR@
mw.b ${sl_addr} 0 0x200
${devtype} read ${sl_addr} @STATE_SECTOR@ 1
env import -t ${sl_addr} 0x200 sl_magic sl_boot sl_try sl_left sl_failed sl_wait
if test "${sl_magic}" != "sitelink-boot-1"; then
  echo "sitelink-boot: no boot-state record, booting slot a"
  setenv sl_magic sitelink-boot-1
  setenv sl_boot a
  setenv sl_try none
  setenv sl_left 0
  setenv sl_failed none
fi
setenv sl_slot ${sl_boot}
setenv sl_trial
if test "${sl_try}" != "none"; then
  if test ${sl_left} -gt 0; then
    setexpr sl_left ${sl_left} - 1
    setenv sl_slot ${sl_try}
    setenv sl_trial " sitelink.trial=1"
    echo "sitelink-boot: trial boot of slot ${sl_try} (tries left after this one: ${sl_left})"
  else
    echo "sitelink-boot: slot ${sl_try} was not committed: back to slot ${sl_boot}"
    setenv sl_failed ${sl_try}
    setenv sl_try none
  fi
  env export -t -s 0x200 ${sl_addr} sl_magic sl_boot sl_try sl_left sl_failed sl_wait
  ${devtype} write ${sl_addr} @STATE_SECTOR@ 1
fi
if test "${sl_slot}" = "b"; then setenv sl_part @SLOT_B_PART@; else setenv sl_part @SLOT_A_PART@; fi
echo "sitelink-boot: slot ${sl_slot} (${devtype} ${devnum}:${sl_part})"
# sitelink.trial=1 makes /etc/init.d/rcS arm the board's hardware watchdog
# first thing (BOARD_RT_WATCHDOG): a trial whose userspace hangs is reset and
# comes back here with its try spent.
setenv bootargs "console=@CONSOLE@ loglevel=4 panic=@PANIC@ @KERNEL_ARGS@ sitelink.slot=${sl_slot}${sl_trial}"
setenv sl_fdt ${fdtcontroladdr}
if load ${devtype} ${devnum}:${sl_part} @FDT_ADDR@ /board.dtb; then setenv sl_fdt @FDT_ADDR@; fi
if load ${devtype} ${devnum}:${sl_part} @KERNEL_ADDR@ /vmlinuz; then
  setenv kernel_comp_addr_r @KERNEL_COMP_ADDR@
  setenv kernel_comp_size ${filesize}
  if load ${devtype} ${devnum}:${sl_part} @RAMDISK_ADDR@ /initramfs; then
    booti @KERNEL_ADDR@ @RAMDISK_ADDR@:${filesize} ${sl_fdt}
  fi
fi
echo "sitelink-boot: slot ${sl_slot} did not boot: resetting"
reset
