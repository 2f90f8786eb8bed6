# Driver of the peer tests (peer.mmdet_parity, peer.paa_parity): a fresh dump
# directory, the dump program, then the peer script.
# -DDUMP=exe -DPYTHON=python -DSCRIPT=peer.py -DDATA=csv -DOUT=dir
get_filename_component(dump_name "${DUMP}" NAME)
get_filename_component(script_name "${SCRIPT}" NAME)
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
execute_process(COMMAND "${DUMP}" "${DATA}" "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${dump_name} failed (${rc})")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${script_name} failed (${rc})")
endif()
# The dump (mmdet_parity: ~150 MB): keep it only when the test failed, for inspection.
file(REMOVE_RECURSE "${OUT}")
