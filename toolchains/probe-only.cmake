# FOOTFALL_PROBE_ONLY: the probe's tests read captures made by footfall-sim. A native build builds it; a cross
# build takes the build machine's footfall-sim (FOOTFALL_HOST_SIM), since a test running under qemu-user
# starts it as a child process, which only a program of the build machine can be without binfmt.
if(NOT CMAKE_CROSSCOMPILING)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tools/sim ${PROJECT_BINARY_DIR}/tools/sim)
elseif(FOOTFALL_BUILD_TESTS)
  set(FOOTFALL_HOST_SIM "" CACHE FILEPATH "footfall-sim built for the build machine (tools/cross-test builds one)")
  if(NOT EXISTS "${FOOTFALL_HOST_SIM}")
    message(FATAL_ERROR "FOOTFALL_HOST_SIM='${FOOTFALL_HOST_SIM}' is not a file: a cross build with tests needs "
                        "a native footfall-sim (tools/cross-test ARCH makes one), or FOOTFALL_BUILD_TESTS=OFF")
  endif()
  add_custom_command(OUTPUT ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/footfall-sim
    COMMAND ${CMAKE_COMMAND} -E copy ${FOOTFALL_HOST_SIM} ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/footfall-sim
    DEPENDS ${FOOTFALL_HOST_SIM} VERBATIM)
  add_custom_target(footfall-sim DEPENDS ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/footfall-sim)
endif()
