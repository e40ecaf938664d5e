# The libFuzzer build (DARKMATTER_FUZZ=ON, included by the top-level CMakeLists.txt): the
# project's parsers of outside input compiled with clang, coverage and ASan + UBSan, and one
# fuzzer per parser (tests/fuzz/fuzz_*.cc). Only what the fuzzers need is built (no torch:
# clang 14-16 cannot compile LibTorch's headers in C++20 with libstdc++ 12, docs/reliability.md).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "DARKMATTER_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ (scripts/fuzz does)")
endif()
set(DARKMATTER_FUZZ_FLAGS -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
add_compile_options(${DARKMATTER_FUZZ_FLAGS})
add_link_options(-fsanitize=address,undefined)

add_subdirectory(sim)
add_subdirectory(tests/fuzz)
