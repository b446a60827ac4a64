# Script (cmake -P): OUT, a static library holding pcap_without_dbus.cpp, receives every member of libpcap.a
# (IN) except pcap-dbus.o, so that one archive links libpcap without its D-Bus module. AR: the target's ar.
set(work "${OUT}.members")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")
execute_process(COMMAND "${AR}" x "${IN}" WORKING_DIRECTORY "${work}" COMMAND_ERROR_IS_FATAL ANY)
if(NOT EXISTS "${work}/pcap-dbus.o")
  message(FATAL_ERROR "${IN} has no pcap-dbus.o: check whether this libpcap still needs pcap_without_dbus.cpp")
endif()
file(REMOVE "${work}/pcap-dbus.o")
file(GLOB members RELATIVE "${work}" "${work}/*.o")
list(SORT members)
execute_process(COMMAND "${AR}" qs "${OUT}" ${members} WORKING_DIRECTORY "${work}" COMMAND_ERROR_IS_FATAL ANY)
file(REMOVE_RECURSE "${work}")
