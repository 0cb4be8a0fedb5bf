# Generates a C++ source holding every migration file, so the binary carries its
# own schema and needs no files beside it at run time.
# Called in script mode: cmake -DOUTPUT=... -DFILES="a;b" [-DFUNCTION=ns::name] -P EmbedMigrations.cmake
# FUNCTION (inside cc::storage) defaults to embedded_migrations, the SQLite set.
# HEADER declares it (default cc/storage/migrations.hpp).
if(NOT FUNCTION)
  set(FUNCTION embedded_migrations)
endif()
if(NOT HEADER)
  set(HEADER cc/storage/migrations.hpp)
endif()
set(content "// Generated from migrations/*.sql by cmake/EmbedMigrations.cmake. Do not edit.\n")
string(APPEND content "#include \"${HEADER}\"\n\nnamespace cc::storage {\n\n")
string(APPEND content "const std::vector<migration>& ${FUNCTION}() {\n")
string(APPEND content "    static const std::vector<migration> all = {\n")
foreach(file IN LISTS FILES)
  get_filename_component(name "${file}" NAME)
  string(REGEX MATCH "^[0-9]+" number "${name}")
  math(EXPR version "${number}")
  file(READ "${file}" sql)
  string(APPEND content "        {${version}, \"${name}\", R\"cc_sql(${sql})cc_sql\"},\n")
endforeach()
string(APPEND content "    };\n    return all;\n}\n\n}  // namespace cc::storage\n")
file(WRITE "${OUTPUT}.tmp" "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
file(REMOVE "${OUTPUT}.tmp")
