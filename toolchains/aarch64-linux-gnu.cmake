# Cross build for aarch64 (aarch64-linux-gnu) with Debian's g++-aarch64-linux-gnu; tests run under qemu-aarch64.
# Usage: tools/sysroot aarch64 && cmake --preset cross-aarch64   (or -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake)
set(FOOTFALL_CROSS_ARCH aarch64)
set(FOOTFALL_CROSS_TRIPLET aarch64-linux-gnu)
set(FOOTFALL_CROSS_PROCESSOR aarch64)
set(FOOTFALL_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
