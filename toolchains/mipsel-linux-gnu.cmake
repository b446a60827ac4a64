# Cross build for mipsel (mipsel-linux-gnu) with Debian's g++-mipsel-linux-gnu; tests run under qemu-mipsel.
# Usage: tools/sysroot mipsel && cmake --preset cross-mipsel   (or -DCMAKE_TOOLCHAIN_FILE=toolchains/mipsel-linux-gnu.cmake)
set(FOOTFALL_CROSS_ARCH mipsel)
set(FOOTFALL_CROSS_TRIPLET mipsel-linux-gnu)
set(FOOTFALL_CROSS_PROCESSOR mipsel)
set(FOOTFALL_CROSS_QEMU qemu-mipsel)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
