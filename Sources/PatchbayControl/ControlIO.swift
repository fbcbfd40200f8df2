import CLinuxNet
import Glibc

/// A moment on the monotonic clock by which a control connection's I/O must
/// be done, so neither a wedged daemon nor a silent client holds the other
/// side for longer than that.
struct IODeadline {
  private let end: UInt64

  /// `seconds` from now.
  init(after seconds: Double) {
    end = IODeadline.now() &+ UInt64(max(0, seconds) * 1e9)
  }

  /// Milliseconds left for `poll`, 0 once passed.
  var remainingMilliseconds: Int32 {
    let now = IODeadline.now()
    guard end > now else { return 0 }
    return Int32(min((end - now + 999_999) / 1_000_000, UInt64(Int32.max)))
  }

  /// True once the deadline passed.
  var hasPassed: Bool { IODeadline.now() >= end }

  private static func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }
}

/// Waits until `fd` is ready for `events` (POLLIN, POLLOUT) or `deadline`
/// passes; true when ready (a hang-up or an error counts: the next call reports it).
func waitUntilReady(_ fd: Int32, for events: Int16, until deadline: IODeadline) -> Bool {
  var entry = pollfd(fd: fd, events: events, revents: 0)
  while true {
    let result = poll(&entry, 1, deadline.remainingMilliseconds)
    if result > 0 { return true }
    if result == 0 { return false }
    if errno != EINTR { return false }
  }
}

/// The largest request or response accepted, so a confused peer cannot make the daemon grow without bound.
let maximumMessageSize = 16 << 20

/// The largest request the daemon reads: requests are a few hundred bytes.
let maximumRequestSize = 64 << 10

/// One `recv` that does not block: bytes read, 0 at the end, -1 with `errno`.
private func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
  recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
}

/// Reads until EOF (or the size limit), by `deadline` when there is one;
/// nil on an error, at the limit or when the deadline passes first.
func readAll(from fd: Int32, until deadline: IODeadline? = nil) -> [UInt8]? {
  var data: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while data.count <= maximumMessageSize {
    let count = chunk.withUnsafeMutableBytes { buffer in
      deadline == nil ? Glibc.read(fd, buffer.baseAddress, buffer.count) : receive(fd, into: buffer)
    }
    if count < 0 {
      if errno == EINTR { continue }
      if errno == EAGAIN, let deadline, waitUntilReady(fd, for: Int16(POLLIN), until: deadline) {
        continue
      }
      return nil
    }
    if count == 0 { return data }
    data.append(contentsOf: chunk[0..<count])
  }
  return nil
}

/// Reads one request by `deadline`: up to a newline (a client that keeps its
/// connection open, like `capture`) or EOF (one that shut its write side
/// down). The framing is `ControlFraming.request(reading:)`'s; a client too
/// slow to send it gets nil.
func readRequest(from fd: Int32, until deadline: IODeadline) -> [UInt8]? {
  var byte: UInt8 = 0
  // Byte by byte, so nothing after the newline is consumed; requests are small.
  return ControlFraming.request {
    while true {
      let count = withUnsafeMutableBytes(of: &byte) { receive(fd, into: $0) }
      if count < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN, waitUntilReady(fd, for: Int16(POLLIN), until: deadline) { continue }
        return .failed
      }
      return count == 0 ? .end : .byte(byte)
    }
  }
}

/// Writes every byte to a socket, by `deadline` when there is one (else
/// blocking); false when the peer is gone or too slow to take them.
/// `send` with MSG_NOSIGNAL, so a vanished peer never raises SIGPIPE.
func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, until deadline: IODeadline? = nil)
  -> Bool
{
  let flags = Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT))
  var offset = 0
  while offset < bytes.count {
    let count = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, flags)
    if count < 0 {
      if errno == EINTR { continue }
      if errno == EAGAIN, let deadline, waitUntilReady(fd, for: Int16(POLLOUT), until: deadline) {
        continue
      }
      return false
    }
    offset += count
  }
  return true
}

/// Writes every byte of an array to a socket (see `writeAll(_:to:until:)`).
func writeAll(_ bytes: [UInt8], to fd: Int32, until deadline: IODeadline? = nil) -> Bool {
  bytes.withUnsafeBytes { writeAll($0, to: fd, until: deadline) }
}

/// Connects to the Unix socket at `path` by `deadline`: a daemon that stopped
/// accepting fills its backlog, and a blocking connect would then wait for
/// ever. Returns the connected (blocking) socket or `-errno`.
func connectUnix(_ path: String, until deadline: IODeadline) -> Int32 {
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  let capacity = MemoryLayout.size(ofValue: address.sun_path)
  guard path.utf8.count < capacity else { return -ENAMETOOLONG }
  withUnsafeMutableBytes(of: &address.sun_path) { buffer in
    for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
  }
  let fd = socket(
    AF_UNIX,
    Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
      | Int32(SOCK_NONBLOCK.rawValue), 0)
  guard fd >= 0 else { return -errno }
  while true {
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    if result == 0 { break }
    let error = errno
    if error == EINTR { continue }
    // A full backlog: Unix sockets say EAGAIN rather than wait; try again shortly.
    if error == EAGAIN && !deadline.hasPassed {
      usleep(20_000)
      continue
    }
    close(fd)
    return -(error == EAGAIN ? ETIMEDOUT : error)
  }
  let flags = fcntl(fd, F_GETFL)
  _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
  return fd
}
