// g++'s -fsanitize-coverage=trace-cmp also reports float and double comparisons, which
// neither libFuzzer 14 nor libasan defines: no-op hooks for them (torch_fuzzers.cmake).
extern "C" {
__attribute__((weak)) void __sanitizer_cov_trace_cmpf(float, float) {}
__attribute__((weak)) void __sanitizer_cov_trace_cmpd(double, double) {}
}
