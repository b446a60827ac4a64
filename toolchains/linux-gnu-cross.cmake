# Shared part of the Debian cross toolchains (g++-<triplet>), included by <triplet>.cmake after it has set
# FOOTFALL_CROSS_TRIPLET, FOOTFALL_CROSS_PROCESSOR and FOOTFALL_CROSS_QEMU.
#
# Headers and link-time libc come from the cross compiler (/usr/<triplet>); the libraries the probe links come
# from FOOTFALL_SYSROOT, a folder made by `tools/sysroot ARCH` (target .debs unpacked, nothing installed).
# CMAKE_SYSROOT is not used: Debian's cross g++ looks for its C++ headers under the sysroot it is given.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${FOOTFALL_CROSS_PROCESSOR})
set(CMAKE_C_COMPILER ${FOOTFALL_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${FOOTFALL_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${FOOTFALL_CROSS_TRIPLET})

get_filename_component(_footfall_source_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(FOOTFALL_SYSROOT "${_footfall_source_dir}/build/cross-sysroot-${FOOTFALL_CROSS_ARCH}" CACHE PATH
    "Target libraries for the cross build, made by tools/sysroot ${FOOTFALL_CROSS_ARCH}")
# try_compile projects re-read this file: hand them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FOOTFALL_SYSROOT)
if(NOT EXISTS "${FOOTFALL_SYSROOT}/usr/lib/${FOOTFALL_CROSS_TRIPLET}/libpcap.so")
  message(FATAL_ERROR "No target sysroot in ${FOOTFALL_SYSROOT}: run tools/sysroot ${FOOTFALL_CROSS_ARCH} first "
                      "(or set FOOTFALL_SYSROOT)")
endif()

set(CMAKE_FIND_ROOT_PATH "${FOOTFALL_SYSROOT}" "/usr/${FOOTFALL_CROSS_TRIPLET}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the target's .pc files and prefixes their paths with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR} "${FOOTFALL_SYSROOT}/usr/lib/${FOOTFALL_CROSS_TRIPLET}/pkgconfig:${FOOTFALL_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FOOTFALL_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# The sysroot's headers (pkg-config drops -I/usr/include as a system path) and its shared libraries' own
# dependencies (libpcap.so -> libdbus-1.so.3 -> libsystemd.so.0 ...), which the linker must find to check them.
set(_footfall_sysroot_flags
    "-isystem ${FOOTFALL_SYSROOT}/usr/include/${FOOTFALL_CROSS_TRIPLET} -isystem ${FOOTFALL_SYSROOT}/usr/include")
set(CMAKE_C_FLAGS_INIT "${_footfall_sysroot_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_footfall_sysroot_flags}")
set(_footfall_rpath_link
    "-Wl,-rpath-link,${FOOTFALL_SYSROOT}/usr/lib/${FOOTFALL_CROSS_TRIPLET}:${FOOTFALL_SYSROOT}/lib/${FOOTFALL_CROSS_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_footfall_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_footfall_rpath_link}")

# Target programs (tests) run under qemu-user, called explicitly (no binfmt here); -L finds the target's
# dynamic loader and libraries in the sysroot, and is harmless for static programs.
find_program(FOOTFALL_QEMU ${FOOTFALL_CROSS_QEMU})
if(FOOTFALL_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${FOOTFALL_QEMU};-L;${FOOTFALL_SYSROOT}")
else()
  message(WARNING "${FOOTFALL_CROSS_QEMU} not found (Debian package qemu-user): tests cannot run on this host")
endif()
