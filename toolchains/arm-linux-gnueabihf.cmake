# Cross build for armhf (arm-linux-gnueabihf) with Debian's g++-arm-linux-gnueabihf; tests run under qemu-arm.
# Usage: tools/sysroot armhf && cmake --preset cross-armhf   (or -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake)
set(FOOTFALL_CROSS_ARCH armhf)
set(FOOTFALL_CROSS_TRIPLET arm-linux-gnueabihf)
set(FOOTFALL_CROSS_PROCESSOR arm)
set(FOOTFALL_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
