# The libFuzzer build (DARKMATTER_FUZZ=ON, included by the top-level CMakeLists.txt): the
# project's parsers of outside input compiled with clang, coverage and ASan + UBSan, and one
# fuzzer per parser (tests/fuzz/fuzz_*.cc). Only what the fuzzers need is built; the torch
# libraries (checkpoint and suite targets) only with DARKMATTER_FUZZ_TORCH=ON.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "DARKMATTER_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz does)")
endif()
set(DARKMATTER_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
add_compile_options(${DARKMATTER_FUZZ_FLAGS})
add_link_options(-fsanitize=address,undefined)

add_subdirectory(sim)
if(DARKMATTER_FUZZ_TORCH)
  add_subdirectory(tasks)
  add_subdirectory(worldmodel)
  add_subdirectory(agents)
  add_subdirectory(eval)
endif()
add_subdirectory(tests/fuzz)
