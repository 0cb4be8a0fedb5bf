# Generates a C++ source that returns one file's text, so the binary serves it without
# files beside it at run time (like the migrations, cmake/EmbedMigrations.cmake).
# Called in script mode:
#   cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=cc::api -DFUNCTION=openapi_document -P EmbedFile.cmake
file(READ "${INPUT}" text)
string(FIND "${text}" ")cc_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )cc_embed\"")
endif()
get_filename_component(name "${INPUT}" NAME)
set(content "// Generated from ${name} by cmake/EmbedFile.cmake. Do not edit.\n")
string(APPEND content "#include <string_view>\n\nnamespace ${NAMESPACE} {\n\n")
string(APPEND content "std::string_view ${FUNCTION}() {\n")
string(APPEND content "    static constexpr std::string_view text = R\"cc_embed(${text})cc_embed\";\n")
string(APPEND content "    return text;\n}\n\n}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUTPUT}.tmp" "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
file(REMOVE "${OUTPUT}.tmp")
