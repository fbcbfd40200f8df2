import Glibc
import SystemPackage

/// A failed system call, naming the call and what it acted on.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
  /// The call, e.g. `TUNSETIFF`.
  public var call: String
  /// What it acted on, e.g. an interface name.
  public var subject: String
  /// The error number.
  public var errno: Errno

  /// Makes an error.
  public init(call: String, subject: String, errno: Errno) {
    self.call = call
    self.subject = subject
    self.errno = errno
  }

  /// `TUNSETIFF lab1-vm1: Device or resource busy`.
  public var description: String {
    "\(call) \(subject): \(String(cString: strerror(errno.rawValue)))"
  }
}

/// The syscall funnel for set-up code: runs `body` (which returns a value or
/// `-errno`, as the CLinuxNet shims do), retries on EINTR, and turns a failure
/// into an error naming the call.
///
/// The datapath does not use this: per-frame reads and writes call Glibc
/// directly so EAGAIN costs no error value.
@discardableResult
public func checked(_ call: String, _ subject: String, _ body: () -> Int32) throws(SystemCallError)
  -> Int32
{
  while true {
    let result = body()
    if result >= 0 { return result }
    if -result == EINTR { continue }
    throw SystemCallError(call: call, subject: subject, errno: Errno(rawValue: -result))
  }
}

/// Like `checked`, for libc calls that return -1 and set `errno`.
@discardableResult
func checkedLibc(_ call: String, _ subject: String, _ body: () -> Int32) throws(SystemCallError)
  -> Int32
{
  while true {
    let result = body()
    if result >= 0 { return result }
    let error = Glibc.errno
    if error == EINTR { continue }
    throw SystemCallError(call: call, subject: subject, errno: Errno(rawValue: error))
  }
}
