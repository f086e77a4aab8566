# Cross toolchain for the arm64 boards: Debian's gcc-aarch64-linux-gnu (its own
# libc under /usr/aarch64-linux-gnu), plus a sysroot holding only what Debian
# arm64 packages add (libssl-dev:arm64 + libssl3:arm64 unpacked, never
# installed on the host). scripts/image/build-native passes SL_SYSROOT.
#
#   cmake-js compile -d native --out DIR --arch arm64 \
#     --CDCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-aarch64.cmake --CDSL_SYSROOT=DIR

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(SL_TRIPLET aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${SL_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${SL_TRIPLET}-g++)

# The toolchain file is read again for try_compile projects: pass the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SL_SYSROOT)
if(NOT SL_SYSROOT)
  set(SL_SYSROOT $ENV{SL_SYSROOT})
endif()
if(NOT SL_SYSROOT OR NOT EXISTS "${SL_SYSROOT}/usr/include/openssl/evp.h")
  message(FATAL_ERROR "SL_SYSROOT must point at unpacked libssl-dev:arm64 + libssl3:arm64 (got '${SL_SYSROOT}')")
endif()

# Not CMAKE_SYSROOT: the compiler keeps its own libc; the sysroot only adds
# OpenSSL. Debian splits the headers: openssl/*.h in /usr/include, the
# generated openssl/configuration.h in the multiarch directory.
set(OPENSSL_ROOT_DIR ${SL_SYSROOT}/usr)
set(OPENSSL_INCLUDE_DIR ${SL_SYSROOT}/usr/include)
set(OPENSSL_CRYPTO_LIBRARY ${SL_SYSROOT}/usr/lib/${SL_TRIPLET}/libcrypto.so)
set(OPENSSL_SSL_LIBRARY ${SL_SYSROOT}/usr/lib/${SL_TRIPLET}/libssl.so)
include_directories(SYSTEM ${SL_SYSROOT}/usr/include/${SL_TRIPLET})

set(CMAKE_FIND_ROOT_PATH ${SL_SYSROOT} /usr/${SL_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Some armv8.0 boards (Armada 3720) lack the crypto extensions; the build
# stays generic armv8-a and the kernel's drivers (via AF_ALG) or OpenSSL's
# run-time CPU detection pick the fast paths.
set(CMAKE_C_FLAGS_INIT "-march=armv8-a")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a")

# The cross compiler's own glibc (the build host's Debian) may be older than
# the board's: Debian 13's libcrypto.so wants GLIBC_2.38 symbols and libz /
# libzstd, which only the board has. Executables linked here need none of
# those themselves, and glibc is backward compatible, so the shared
# libraries' own dependencies are left for the board's dynamic loader.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--allow-shlib-undefined")
