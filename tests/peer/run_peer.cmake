# Driver of peer.mmdet_parity: a fresh dump directory, dump_workload, then the peer.
# -DDUMP=exe -DPYTHON=python -DSCRIPT=mmdet_peer.py -DDATA=csv -DOUT=dir
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
execute_process(COMMAND "${DUMP}" "${DATA}" "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dump_workload failed (${rc})")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mmdet_peer.py failed (${rc})")
endif()
# The dump is ~150 MB: keep it only when the test failed, for inspection.
file(REMOVE_RECURSE "${OUT}")
