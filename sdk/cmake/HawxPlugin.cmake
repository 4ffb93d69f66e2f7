# hawx_add_plugin(NAME <library> SOURCES <files...> [INSTALL])
#
# Builds the HAWX plugin library <library> as the module `hawx_<library>.so`, against the
# SDK (Hawx::sdk). The sources must contain exactly one HAWX_PLUGIN("<library>", ...).
# In the HAWX tree the module goes to the built-in plugin folder; elsewhere to the current
# binary folder (point a manifest's plugins.paths or HAWX_PLUGIN_PATH at it). With
# INSTALL it is installed to the HAWX plugin folder of the SDK's prefix.
function(hawx_add_plugin)
  cmake_parse_arguments(ARG "INSTALL" "NAME" "SOURCES" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_SOURCES)
    message(FATAL_ERROR "hawx_add_plugin: NAME and SOURCES are required")
  endif()
  if(NOT ARG_NAME MATCHES "^[A-Za-z0-9_]+$")
    message(FATAL_ERROR "hawx_add_plugin: library name '${ARG_NAME}' must match [A-Za-z0-9_]+")
  endif()
  set(target hawx_${ARG_NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE Hawx::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "hawx_${ARG_NAME}"
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED HAWX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${HAWX_PLUGIN_OUTPUT_DIR}")
  endif()
  if(ARG_INSTALL)
    if(DEFINED HAWX_PLUGIN_SUBDIR)
      install(TARGETS ${target} LIBRARY DESTINATION ${HAWX_PLUGIN_SUBDIR})
    else()
      install(TARGETS ${target} LIBRARY DESTINATION ${HAWX_PLUGIN_INSTALL_DIR})
    endif()
  endif()
endfunction()

# hawx_add_c_blocks(NAME <library> [FILES <c files...>] [DIRECTORY <dir>]
#                   [ACTIVATION_OPERAND A|B] [INSTALL])
#
# Builds the plugin library <library> (`hawx_<library>.so`, see hawx_add_plugin) from
# EvoApproxLib-style C circuits: the given FILES plus every *.c in DIRECTORY (relative
# paths are taken from the current source folder). `hawx blocks import-c` generates the
# plugin source, one block per circuit named after its C function, at build time; the C
# files are compiled as C, so the project must enable C (project(... LANGUAGES C CXX)).
# ACTIVATION_OPERAND says which C operand (A, the default, or B) is the activation.
function(hawx_add_c_blocks)
  cmake_parse_arguments(ARG "INSTALL" "NAME;DIRECTORY;ACTIVATION_OPERAND" "FILES" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hawx_add_c_blocks: unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME)
    message(FATAL_ERROR "hawx_add_c_blocks: NAME is required")
  endif()
  if(NOT ARG_NAME MATCHES "^[A-Za-z0-9_]+$")
    message(FATAL_ERROR "hawx_add_c_blocks: library name '${ARG_NAME}' must match [A-Za-z0-9_]+")
  endif()
  set(files "")
  foreach(f IN LISTS ARG_FILES)
    get_filename_component(abs "${f}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${abs}")
      message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): C file '${f}' does not exist")
    endif()
    list(APPEND files "${abs}")
  endforeach()
  if(ARG_DIRECTORY)
    get_filename_component(dir "${ARG_DIRECTORY}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT IS_DIRECTORY "${dir}")
      message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): DIRECTORY '${ARG_DIRECTORY}' is not a folder")
    endif()
    file(GLOB globbed CONFIGURE_DEPENDS "${dir}/*.c")
    list(SORT globbed)
    list(APPEND files ${globbed})
  endif()
  list(REMOVE_DUPLICATES files)
  if(NOT files)
    message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): no C files (give FILES or a DIRECTORY holding *.c)")
  endif()
  set(activation "")
  if(ARG_ACTIVATION_OPERAND)
    if(NOT ARG_ACTIVATION_OPERAND MATCHES "^(A|B)$")
      message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): ACTIVATION_OPERAND must be A or B, got '${ARG_ACTIVATION_OPERAND}'")
    endif()
    set(activation --activation-operand ${ARG_ACTIVATION_OPERAND})
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "C" IN_LIST languages)
    message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): the C language is not enabled; "
                        "use project(<name> LANGUAGES C CXX) or enable_language(C)")
  endif()
  if(NOT TARGET Hawx::hawx)
    message(FATAL_ERROR "hawx_add_c_blocks(${ARG_NAME}): the HAWX command-line tool (target Hawx::hawx) is not "
                        "known; find_package(HawxSDK) provides it")
  endif()
  set(generated "${CMAKE_CURRENT_BINARY_DIR}/hawx_${ARG_NAME}_cblocks.cpp")
  add_custom_command(
    OUTPUT "${generated}"
    COMMAND $<TARGET_FILE:Hawx::hawx> blocks import-c --emit-plugin-source "${generated}"
            --library ${ARG_NAME} ${activation} ${files}
    DEPENDS ${files} Hawx::hawx
    COMMENT "Generating the HAWX plugin source of C blocks '${ARG_NAME}'"
    VERBATIM)
  set_source_files_properties(${files} PROPERTIES LANGUAGE C)
  set(install_flag "")
  if(ARG_INSTALL)
    set(install_flag INSTALL)
  endif()
  hawx_add_plugin(NAME ${ARG_NAME} SOURCES "${generated}" ${files} ${install_flag})
endfunction()
