# Install rules, the CMake package (find_package(anchorassign)) and the pkg-config
# file. Included at the end of the top-level CMakeLists.txt, after the
# `anchorassign` target and cmake/backends.cmake (AA_HAVE_CUDA, AA_HAVE_OPENCL).
#
#   cmake --install build/full --prefix /opt/aa
#
# installs
#   include/anchorassign.h
#   lib/libanchorassign.so*                          (or the static archive)
#   lib/cmake/anchorassign/anchorassign{Config,ConfigVersion,Targets*}.cmake
#   lib/pkgconfig/anchorassign.pc
#
# A consumer project then uses either
#   find_package(anchorassign 0.1 REQUIRED)  ->  target anchorassign::anchorassign
# or
#   cc app.c $(pkg-config --cflags --libs anchorassign)
# (tests/package/ is such a consumer; .ci/package builds it both ways.)

include(CMakePackageConfigHelpers)

set(AA_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/anchorassign"
    CACHE STRING "Where anchorassignConfig.cmake is installed (relative to the prefix)")
set(AA_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where anchorassign.pc is installed (relative to the prefix)")
mark_as_advanced(AA_INSTALL_CMAKEDIR AA_INSTALL_PKGCONFIGDIR)

get_target_property(AA_LIBRARY_TYPE anchorassign TYPE)

# ---------------------------------------------------------------- the library
install(TARGETS anchorassign
  EXPORT anchorassignTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# ---------------------------------------------------------------- CMake package
install(EXPORT anchorassignTargets
  NAMESPACE anchorassign::
  FILE anchorassignTargets.cmake
  DESTINATION ${AA_INSTALL_CMAKEDIR})

# The Config file reads AA_HAVE_CUDA / AA_HAVE_OPENCL / AA_LIBRARY_TYPE (@VAR@) to
# decide which find_dependency() calls the installed targets need.
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/anchorassignConfig.cmake.in
  ${PROJECT_BINARY_DIR}/anchorassignConfig.cmake
  INSTALL_DESTINATION ${AA_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/anchorassignConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/anchorassignConfig.cmake
  ${PROJECT_BINARY_DIR}/anchorassignConfigVersion.cmake
  DESTINATION ${AA_INSTALL_CMAKEDIR})

# ---------------------------------------------------------------- pkg-config
# Private dependencies: libm always; the CUDA runtime and the OpenCL ICD loader when
# those backends are built. They only matter for static linking
# (`pkg-config --static`), but a .pc file must name them either way.
set(AA_PC_REQUIRES_PRIVATE "")
set(AA_PC_LIBS_PRIVATE "-lm")
if(AA_HAVE_OPENCL)
  # Debian's ocl-icd-opencl-dev ships OpenCL.pc; name the module when there is one.
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(AA_PC_OPENCL QUIET OpenCL)
  endif()
  if(AA_PC_OPENCL_FOUND)
    list(APPEND AA_PC_REQUIRES_PRIVATE OpenCL)
  else()
    string(APPEND AA_PC_LIBS_PRIVATE " -lOpenCL")
  endif()
  string(APPEND AA_PC_LIBS_PRIVATE " -pthread") # the OpenCL backend's creation lock
endif()
if(AA_HAVE_CUDA)
  # The CUDA runtime has no .pc file of its own in the toolkit.
  if(CUDAToolkit_LIBRARY_DIR)
    string(APPEND AA_PC_LIBS_PRIVATE " -L${CUDAToolkit_LIBRARY_DIR}")
  endif()
  string(APPEND AA_PC_LIBS_PRIVATE " -lcudart")
endif()
list(JOIN AA_PC_REQUIRES_PRIVATE ", " AA_PC_REQUIRES_PRIVATE)

# The prefix must be the one given at *install* time (`cmake --install --prefix P`
# overrides CMAKE_INSTALL_PREFIX), so the .pc file is written in two steps: every
# other field now, the prefix line when `cmake --install` runs. Relative
# CMAKE_INSTALL_{LIB,INCLUDE}DIR become ${prefix}/...; absolute ones stay as given.
foreach(_aa_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_aa_dir}}")
    set(AA_PC_${_aa_dir} "${CMAKE_INSTALL_${_aa_dir}}")
  else()
    set(AA_PC_${_aa_dir} "\${prefix}/${CMAKE_INSTALL_${_aa_dir}}")
  endif()
endforeach()
set(AA_PC_PREFIX "@AA_PC_PREFIX@") # kept as a placeholder for the install step
configure_file(${PROJECT_SOURCE_DIR}/cmake/anchorassign.pc.in
               ${PROJECT_BINARY_DIR}/pkgconfig/anchorassign.pc.template @ONLY)
install(CODE "
  set(AA_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/anchorassign.pc.template\"
                 \"${PROJECT_BINARY_DIR}/pkgconfig/install/anchorassign.pc\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/install/anchorassign.pc
        DESTINATION ${AA_INSTALL_PKGCONFIGDIR})
