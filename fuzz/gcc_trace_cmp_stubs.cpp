// GCC's -fsanitize-coverage=trace-cmp also traces floating-point comparisons, through hooks that
// neither libFuzzer nor GCC's sanitizer runtimes define. libFuzzer has no use for them: these
// empty definitions only let the instrumented libraries link.

extern "C" {
void __sanitizer_cov_trace_cmpf(float, float) {}
void __sanitizer_cov_trace_cmpd(double, double) {}
}
