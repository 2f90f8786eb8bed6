# The PAA tests (included from tests/CMakeLists.txt): hand-checked cases, bad inputs,
# the composition of the calls and an independent check of the selection rule on
# random and (with aa_workload) real COCO inputs, and the synthetic head generator.
foreach(t test_paa test_paa_bad_input test_paa_compose)
  add_executable(${t} ${t}.c)
  target_link_libraries(${t} PRIVATE anchorassign PkgConfig::CMOCKA m)
  target_compile_definitions(${t} PRIVATE AA_TEST_HAVE_OPENCL=$<BOOL:${AA_HAVE_OPENCL}>)
  add_test(NAME cpu.${t} COMMAND ${t})
endforeach()

# COCO boxes and the synthetic head come from aa_workload (AA_BUILD_TOOLS).
if(AA_BUILD_TOOLS)
  target_link_libraries(test_paa_compose PRIVATE aa_workload)
  target_compile_definitions(test_paa_compose PRIVATE AA_TEST_HAVE_WORKLOAD=1
    "AA_TEST_DATA=\"${PROJECT_SOURCE_DIR}/data/coco2017_subset_boxes.csv\"")
  add_executable(test_paa_head test_paa_head.c)
  target_link_libraries(test_paa_head PRIVATE aa_workload anchorassign PkgConfig::CMOCKA m)
  target_compile_definitions(test_paa_head PRIVATE
    "AA_TEST_DATA=\"${PROJECT_SOURCE_DIR}/data/coco2017_subset_boxes.csv\"")
  add_test(NAME cpu.test_paa_head COMMAND test_paa_head)
endif()
