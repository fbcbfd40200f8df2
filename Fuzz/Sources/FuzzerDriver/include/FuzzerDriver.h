// libFuzzer's driver, for executables whose `main` is their own: SwiftPM
// renames an executable's entry point (so tests can link its module), which
// leaves libFuzzer's `main` out of the link. The fuzzers call the driver
// themselves instead. Defined in libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
