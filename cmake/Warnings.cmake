# Warnings for every target of the project; CC_WERROR turns them into errors (CI).
option(CC_WERROR "Treat warnings as errors" OFF)

function(cc_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
