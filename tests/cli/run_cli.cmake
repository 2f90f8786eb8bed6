# Runs the anchorassign CLI once and asserts on what it did (cmake -P driver).
#
#   -DCLI=path            the executable
#   -DARGS=a|b|c          its arguments, separated by '|'
#   -DEXPECT_EXIT=N       exit status expected: a number, or "nonzero"
#   -DSTDOUT_CONTAINS=s|t literal strings stdout must contain
#   -DSTDOUT_REGEX=re     a regex stdout must match
#   -DSTDERR_REGEX=re     a regex stderr must match
#   -DSTDERR_ONE_LINE=ON  stderr must be exactly one non-empty line (a failure's message)
#   -DOUTPUT_FILE=path    removed before the run; then checked:
#   -DOUTPUT_ABSENT=ON      it must not exist (a failed run leaves nothing behind)
#   -DOUTPUT_ROWS=N         its data rows (after the comment and header lines) number N
#   -DOUTPUT_MATCHES_STDOUT=ON  ... the N of stdout's "wrote N rows (P positives, I ignored)
#                           for M images", with N = P + I
#   -DOUTPUT_REGEX=re       its content must match
#   -DOUTPUT_NOT_REGEX=re   its content must not match
#   -DINSTALL_FROM=dir -DINSTALL_PREFIX=dir  first `cmake --install dir --prefix dir`,
#                         then CLI is taken relative to the prefix
#   -DRUN_DIR=dir         working directory of the run (default: the current one)

function(fail what)
  message(FATAL_ERROR "FAIL: ${what}\n--- command: ${CLI} ${ARGS}\n--- exit: ${rc}\n"
                      "--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

if(NOT CLI OR NOT DEFINED EXPECT_EXIT)
  message(FATAL_ERROR "run_cli.cmake: CLI and EXPECT_EXIT are required")
endif()

if(INSTALL_FROM)
  file(REMOVE_RECURSE "${INSTALL_PREFIX}")
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${INSTALL_FROM}" --prefix "${INSTALL_PREFIX}"
                  RESULT_VARIABLE irc OUTPUT_VARIABLE iout ERROR_VARIABLE iout)
  if(NOT irc EQUAL 0)
    message(FATAL_ERROR "FAIL: cmake --install ${INSTALL_FROM} --prefix ${INSTALL_PREFIX}:\n${iout}")
  endif()
  set(CLI "${INSTALL_PREFIX}/${CLI}")
endif()

if(OUTPUT_FILE)
  file(REMOVE "${OUTPUT_FILE}")
endif()
if(NOT RUN_DIR)
  set(RUN_DIR "${CMAKE_CURRENT_BINARY_DIR}")
endif()
string(REPLACE "|" ";" arg_list "${ARGS}")
execute_process(COMMAND "${CLI}" ${arg_list} WORKING_DIRECTORY "${RUN_DIR}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

# ---------------------------------------------------------------- exit status, streams
if(EXPECT_EXIT STREQUAL "nonzero")
  if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0)
    fail("expected a non-zero exit status")
  endif()
elseif(NOT rc STREQUAL "${EXPECT_EXIT}")
  fail("expected exit status ${EXPECT_EXIT}")
endif()

if(STDOUT_CONTAINS)
  string(REPLACE "|" ";" wanted "${STDOUT_CONTAINS}")
  foreach(w IN LISTS wanted)
    string(FIND "${out}" "${w}" at)
    if(at EQUAL -1)
      fail("stdout does not contain '${w}'")
    endif()
  endforeach()
endif()
if(DEFINED STDOUT_REGEX AND NOT out MATCHES "${STDOUT_REGEX}")
  fail("stdout does not match '${STDOUT_REGEX}'")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  fail("stderr does not match '${STDERR_REGEX}'")
endif()
if(STDERR_ONE_LINE AND NOT err MATCHES "^[^\n]+\n$")
  fail("stderr is not exactly one line")
endif()

# ---------------------------------------------------------------- the output file
if(OUTPUT_ABSENT AND EXISTS "${OUTPUT_FILE}")
  fail("${OUTPUT_FILE} exists after a failed run")
endif()
if(DEFINED OUTPUT_ROWS OR OUTPUT_MATCHES_STDOUT OR DEFINED OUTPUT_REGEX OR DEFINED OUTPUT_NOT_REGEX)
  if(NOT EXISTS "${OUTPUT_FILE}")
    fail("${OUTPUT_FILE} was not written")
  endif()
  file(READ "${OUTPUT_FILE}" content)
  file(STRINGS "${OUTPUT_FILE}" lines)
  list(LENGTH lines num_lines)
  list(GET lines 0 comment)
  list(GET lines 1 header)
  if(NOT comment MATCHES "^# anchorassign [0-9]+\\.[0-9]+\\.[0-9]+ assigner=[a-z-]+ images=[0-9]+ anchors=[0-9]+$")
    fail("first line of ${OUTPUT_FILE} is not the comment header: '${comment}'")
  endif()
  if(NOT header STREQUAL "image_id,anchor,level,gt_index,annotation_id,label,overlap")
    fail("second line of ${OUTPUT_FILE} is not the column header: '${header}'")
  endif()
  math(EXPR rows "${num_lines} - 2")
endif()
if(DEFINED OUTPUT_ROWS AND NOT rows EQUAL OUTPUT_ROWS)
  fail("${OUTPUT_FILE} has ${rows} rows, expected ${OUTPUT_ROWS}")
endif()
if(OUTPUT_MATCHES_STDOUT)
  if(NOT out MATCHES "wrote ([0-9]+) rows \\(([0-9]+) positives, ([0-9]+) ignored\\) for ([0-9]+) images to ([^\n]+)\n")
    fail("stdout does not say what was written")
  endif()
  set(n "${CMAKE_MATCH_1}")
  set(p "${CMAKE_MATCH_2}")
  set(i "${CMAKE_MATCH_3}")
  set(m "${CMAKE_MATCH_4}")
  math(EXPR pi "${p} + ${i}")
  if(NOT rows EQUAL n OR NOT pi EQUAL n OR n EQUAL 0)
    fail("${OUTPUT_FILE} has ${rows} rows; stdout says ${n} = ${p} + ${i}")
  endif()
  if(NOT comment MATCHES " images=${m} ")
    fail("stdout says ${m} images, the file '${comment}'")
  endif()
endif()
if(DEFINED OUTPUT_REGEX AND NOT content MATCHES "${OUTPUT_REGEX}")
  fail("${OUTPUT_FILE} does not match '${OUTPUT_REGEX}'")
endif()
if(DEFINED OUTPUT_NOT_REGEX AND content MATCHES "${OUTPUT_NOT_REGEX}")
  fail("${OUTPUT_FILE} matches '${OUTPUT_NOT_REGEX}'")
endif()
message(STATUS "PASS: ${CLI} ${ARGS}")
