/// Stops the run when a property the code promises does not hold.
///
/// A trap, not an error: libFuzzer reports a crash and keeps the input that
/// caused it, in debug and release builds alike (unlike `assert`).
@inline(__always)
func invariant(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  if !condition() { fatalError("invariant violated: \(message())", file: file, line: line) }
}
