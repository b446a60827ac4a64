# Cross build for mipsel (mipsel-linux-gnu) with Debian's g++-mipsel-linux-gnu; tests run under qemu-mipsel.
# Usage: tools/sysroot mipsel && cmake --preset cross-mipsel   (or -DCMAKE_TOOLCHAIN_FILE=toolchains/mipsel-linux-gnu.cmake)
set(FOOTFALL_CROSS_ARCH mipsel)
set(FOOTFALL_CROSS_TRIPLET mipsel-linux-gnu)
set(FOOTFALL_CROSS_PROCESSOR mipsel)
set(FOOTFALL_CROSS_QEMU qemu-mipsel)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
# 32-bit MIPS has no 64-bit atomic instructions: OpenSSL's libcrypto, which the tests link for their TLS
# gateways and certificates, calls libatomic for them. Standard libraries come last on the link line.
set(CMAKE_CXX_STANDARD_LIBRARIES_INIT "-latomic")
