# Detects the optional backends. Each is switched on automatically when its
# toolchain is found (AUTO), forced with ON (configure fails if missing) or OFF.
# Sets AA_HAVE_CUDA / AA_HAVE_OPENCL.

set(AA_HAVE_CUDA OFF)
if(NOT AA_ENABLE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # No GPU to detect on build machines: name the architectures (CUDA 13 builds sm_75+).
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(AA_HAVE_CUDA ON)
  elseif(AA_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "AA_ENABLE_CUDA=ON but no CUDA compiler was found")
  endif()
endif()

set(AA_HAVE_OPENCL OFF)
if(NOT AA_ENABLE_OPENCL STREQUAL "OFF")
  find_package(OpenCL QUIET)
  if(OpenCL_FOUND)
    set(AA_HAVE_OPENCL ON)
  elseif(AA_ENABLE_OPENCL STREQUAL "ON")
    message(FATAL_ERROR "AA_ENABLE_OPENCL=ON but OpenCL (ocl-icd-opencl-dev) was not found")
  endif()
endif()

message(STATUS "anchorassign: CUDA toolkit ${AA_HAVE_CUDA} (${CMAKE_CUDA_COMPILER_VERSION}), OpenCL ${AA_HAVE_OPENCL} (${OpenCL_VERSION_STRING})")
