# CC_SANITIZE builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
option(CC_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

if(CC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
