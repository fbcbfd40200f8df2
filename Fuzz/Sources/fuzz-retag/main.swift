import FuzzerDriver
import Glibc
import PatchbayFuzzing

/// libFuzzer's entry point for the `retag` target (see `FuzzTarget.retag`).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  FuzzTarget.retag.run(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

// SwiftPM makes this file's code the executable's `main` (renamed, so that
// tests could link the module) in place of libFuzzer's own: run libFuzzer's
// driver from here.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
