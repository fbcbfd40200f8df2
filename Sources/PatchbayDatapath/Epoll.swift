import CLinuxNet
import Glibc

/// An epoll instance that reports readiness as 64-bit tokens.
final class Epoll {
  let descriptor: Int32
  private var tokens = [UInt64](repeating: 0, count: 64)

  init() throws(SystemCallError) {
    descriptor = try checked("epoll_create1", "datapath") { pb_epoll_create() }
  }

  func add(_ fd: Int32, token: UInt64) throws(SystemCallError) {
    try checked("epoll_ctl(ADD)", "fd \(fd)") { pb_epoll_add(descriptor, fd, token) }
  }

  func remove(_ fd: Int32) {
    _ = pb_epoll_remove(descriptor, fd)
  }

  /// Waits up to `timeoutNanoseconds` (to the nanosecond, for shaping
  /// deadlines); returns how many tokens are ready (0 on timeout or
  /// interruption). Read them with `token(at:)`.
  @inline(__always)
  func wait(timeoutNanoseconds: Int64) -> Int {
    let count = tokens.withUnsafeMutableBufferPointer { buffer in
      pb_epoll_wait_ns(descriptor, buffer.baseAddress, Int32(buffer.count), timeoutNanoseconds)
    }
    return count > 0 ? Int(count) : 0
  }

  /// The `index`th ready token of the last `wait`.
  @inline(__always)
  func token(at index: Int) -> UInt64 { tokens[index] }

  deinit { Glibc.close(descriptor) }
}
