# aa_embed_kernels(OUTPUT SOURCES WHAT): the build rule that turns the kernel headers
# SOURCES (in dependency order) into the C file OUTPUT holding them as one string, the
# text the OpenCL backend builds at run time (embed_kernels.cmake does the work). Used
# by the library and by the standalone fuzz build's own copy of it.
function(aa_embed_kernels output sources what)
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_kernels.cmake)
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} "-DINPUTS=${sources}" -P ${script}
    DEPENDS ${sources} ${script}
    COMMENT "Embedding the kernel sources for ${what}" VERBATIM)
endfunction()
