# The LADA tests (included from tests/CMakeLists.txt): hand-checked cases, bad inputs,
# and an independent brute-force re-implementation compared on random and (with
# aa_workload) real COCO inputs with synthetic heads.
foreach(t test_lada test_lada_bad_input test_lada_rule)
  add_executable(${t} ${t}.c)
  target_link_libraries(${t} PRIVATE anchorassign PkgConfig::CMOCKA m)
  target_compile_definitions(${t} PRIVATE AA_TEST_HAVE_OPENCL=$<BOOL:${AA_HAVE_OPENCL}>)
  add_test(NAME cpu.${t} COMMAND ${t})
endforeach()

# COCO boxes and the synthetic head come from aa_workload (AA_BUILD_TOOLS).
if(AA_BUILD_TOOLS)
  target_link_libraries(test_lada_rule PRIVATE aa_workload)
  target_compile_definitions(test_lada_rule PRIVATE AA_TEST_HAVE_WORKLOAD=1
    "AA_TEST_DATA=\"${PROJECT_SOURCE_DIR}/data/coco2017_subset_boxes.csv\"")
endif()
