import Glibc

/// Calls `body` with `arguments` as a NULL-terminated C `argv`, for the spawn
/// shims. The strings are copies that live until `body` returns.
public func withArgumentVector<Result>(
  _ arguments: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
  var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
  pointers.append(nil)
  defer { for pointer in pointers { free(pointer) } }
  return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}
