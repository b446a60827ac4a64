# FOOTFALL_STATIC_PROBE: footfall-probe as one static program, for boards that have none of Debian's
# libraries (OpenWrt, Buildroot). Included by the top-level CMakeLists.txt before the libraries are looked up.
# Why each choice: docs/cross-builds.md, "Static probe".

# Static archives wherever both exist (libpcap, libzstd, Mbed TLS; OpenSSL for the tests' own TLS peers).
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(OPENSSL_USE_STATIC_LIBS TRUE)

# Each function in its own section, so that the linker drops what the probe never calls.
add_compile_options(-ffunction-sections -fdata-sections)
# Size before speed, except on the per-packet path (FOOTFALL_PER_PACKET_OPTIMIZATION, set by probe/).
add_compile_options(-Os)
set(FOOTFALL_PER_PACKET_OPTIMIZATION -O2)
# lld folds identical functions and constants (aarch64 -2 %); gold's static programs abort on exceptions; MIPS grows.
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^mips")
  find_program(FOOTFALL_LLD ld.lld REQUIRED)
  # A cross g++ asks for <triplet>-ld.lld, which Debian does not ship; -B DIR makes it take DIR/ld.lld.
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/static-probe-ld)
  file(CREATE_LINK ${FOOTFALL_LLD} ${CMAKE_BINARY_DIR}/static-probe-ld/ld.lld SYMBOLIC)
  set(FOOTFALL_STATIC_PROBE_LINK_OPTIONS -B${CMAKE_BINARY_DIR}/static-probe-ld -fuse-ld=lld -Wl,--icf=all -Wl,-O2)
endif()

# Debian ships spdlog and fmt as shared libraries only: the static build uses both in their header-only form.
# Defining the two targets first makes spdlog's package file keep them (it returns when they exist).
# A fixed thousands separator keeps fmt from asking std::locale for one: std::locale brings libstdc++'s whole
# locale machinery, about 0.3 MB (the probe never formats with the L specifier).
find_package(Threads REQUIRED)
find_path(FOOTFALL_SPDLOG_INCLUDE_DIR spdlog/spdlog.h REQUIRED)
foreach(spdlog_target spdlog::spdlog spdlog::spdlog_header_only)
  add_library(${spdlog_target} INTERFACE IMPORTED)
  set_target_properties(${spdlog_target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${FOOTFALL_SPDLOG_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY;FMT_STATIC_THOUSANDS_SEPARATOR=','"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endforeach()

# libpcap.a without its D-Bus capture module (which would pull in libdbus-1.a and, through it, libsystemd,
# which has no static library in Debian). Call after pkg_check_modules(PCAP ... IMPORTED_TARGET libpcap).
function(footfall_static_pcap)
  find_library(FOOTFALL_LIBPCAP_A libpcap.a REQUIRED)
  add_library(footfall_pcap_without_dbus STATIC ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/static/pcap_without_dbus.cpp)
  set_target_properties(footfall_pcap_without_dbus PROPERTIES OUTPUT_NAME pcap_without_dbus)
  add_custom_command(TARGET footfall_pcap_without_dbus POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DIN=${FOOTFALL_LIBPCAP_A}
            -DOUT=$<TARGET_FILE:footfall_pcap_without_dbus>
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/static/pcap_without_dbus.cmake
    VERBATIM)
  set_target_properties(PkgConfig::PCAP PROPERTIES INTERFACE_LINK_LIBRARIES footfall_pcap_without_dbus)
endfunction()
