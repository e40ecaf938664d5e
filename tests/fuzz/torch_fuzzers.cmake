# The torch fuzz targets (checkpoint, suite), built by g++ in the DARKMATTER_SANITIZE build
# (included by the top-level CMakeLists.txt): clang cannot compile LibTorch 1.13's headers in
# C++20, so these link clang's libFuzzer runtime into g++ code. g++ has no libFuzzer edge
# coverage (-fsanitize-coverage=trace-pc is refused by libFuzzer 14); the project's checkpoint,
# agent and suite code is built with -fsanitize-coverage=trace-cmp and the targets run with
# -use_value_profile=1, so comparisons guide the search (docs/reliability.md, Fuzzing).
# Test executables of this build keep libasan's no-op comparison hooks.
file(GLOB DARKMATTER_FUZZER_RUNTIME
  /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
if(NOT DARKMATTER_FUZZER_RUNTIME)
  message(STATUS "libFuzzer runtime not found (Debian package clang): no torch fuzz targets")
  return()
endif()
list(GET DARKMATTER_FUZZER_RUNTIME 0 DARKMATTER_FUZZER_RUNTIME)
foreach(library darkmatter_worldmodel darkmatter_agents darkmatter_eval)
  target_compile_options(${library} PRIVATE -fsanitize-coverage=trace-cmp)
endforeach()
target_sources(darkmatter_worldmodel PRIVATE tests/fuzz/float_compare_hooks.cc)
set_source_files_properties(tests/fuzz/float_compare_hooks.cc PROPERTIES
  SKIP_PRECOMPILE_HEADERS ON)

# fuzz_NAME from tests/fuzz/fuzz_NAME.cc, linked with libFuzzer's main and the given libraries.
function(darkmatter_torch_fuzzer name)
  add_executable(fuzz_${name} tests/fuzz/fuzz_${name}.cc tests/fuzz/fuzz_util.cc)
  target_link_libraries(fuzz_${name} PRIVATE ${ARGN} darkmatter_options
    ${DARKMATTER_FUZZER_RUNTIME} Threads::Threads)
  set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
    ${PROJECT_BINARY_DIR}/tests/fuzz)
endfunction()

darkmatter_torch_fuzzer(checkpoint darkmatter_agents darkmatter_worldmodel darkmatter_tasks)
darkmatter_torch_fuzzer(suite darkmatter_eval)
