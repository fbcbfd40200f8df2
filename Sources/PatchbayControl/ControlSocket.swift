import CLinuxNet
import Foundation
import Glibc

/// Why talking to a lab's control socket failed, in one line.
public struct ControlError: Error, CustomStringConvertible, Sendable {
  /// The line.
  public var description: String

  /// Makes an error.
  public init(_ description: String) { self.description = description }
}

/// The largest request or response accepted, so a confused peer cannot make the daemon grow without bound.
let maximumMessageSize = 16 << 20

/// Reads until EOF (or the size limit) from a blocking descriptor.
func readAll(from fd: Int32) -> [UInt8]? {
  var data: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65_536)
  while data.count <= maximumMessageSize {
    let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    if count < 0 {
      if errno == EINTR { continue }
      return nil
    }
    if count == 0 { return data }
    data.append(contentsOf: chunk[0..<count])
  }
  return nil
}

/// Reads one request: up to a newline (a client that keeps its connection
/// open, like `capture`) or EOF (one that shut its write side down). The
/// framing is `ControlFraming.request(reading:)`'s.
func readRequest(from fd: Int32) -> [UInt8]? {
  var byte: UInt8 = 0
  // Byte by byte, so nothing after the newline is consumed; requests are small.
  return ControlFraming.request {
    while true {
      let count = Glibc.read(fd, &byte, 1)
      if count < 0 {
        if errno == EINTR { continue }
        return .failed
      }
      return count == 0 ? .end : .byte(byte)
    }
  }
}

/// Writes every byte to a blocking socket; false when the peer is gone.
/// `send` with MSG_NOSIGNAL, so a vanished peer never raises SIGPIPE.
func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
  var offset = 0
  while offset < bytes.count {
    let count = Glibc.send(
      fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
    if count < 0 {
      if errno == EINTR { continue }
      return false
    }
    offset += count
  }
  return true
}

/// Writes every byte of an array to a blocking socket.
func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
  bytes.withUnsafeBytes { writeAll($0, to: fd) }
}

/// The daemon side: accepts one JSON request per connection and answers it.
/// Only root may talk to it (the socket is mode 0600, and the peer's uid is checked).
public final class ControlServer: @unchecked Sendable {
  // Sendable: `listener` is set once in `init`; `isStopping` is only read by
  // the accept thread after `stop()` shut the listener down.

  /// Where the socket lives.
  public let path: String
  private let listener: Int32
  private let handler: @Sendable (ControlRequest) -> ControlResponse
  private let streamHandler: (@Sendable (ControlRequest, Int32) -> Void)?
  private var isStopping = false
  private let finished = DispatchSemaphore(value: 0)

  /// Binds and listens at `path`; `handler` answers each request on the
  /// server's thread. A streamed command (`capture`) goes to `streamHandler`
  /// with the connection, which it then owns: it writes its stream and closes it.
  public init(
    path: String, handler: @escaping @Sendable (ControlRequest) -> ControlResponse,
    streamHandler: (@Sendable (ControlRequest, Int32) -> Void)? = nil
  )
    throws(ControlError)
  {
    self.path = path
    self.handler = handler
    self.streamHandler = streamHandler
    let fd = pb_unix_listen(path, 16)
    guard fd >= 0 else {
      throw ControlError("cannot listen on \(path): \(String(cString: strerror(-fd)))")
    }
    listener = fd
  }

  /// Starts accepting on a thread of its own.
  public func start() {
    let thread = Thread { [self] in
      self.acceptLoop()
      self.finished.signal()
    }
    thread.name = "patchbay-control"
    thread.start()
  }

  /// Stops accepting, waits for the thread, and removes the socket file.
  public func stop() {
    isStopping = true
    shutdown(listener, Int32(SHUT_RDWR))
    finished.wait()
    close(listener)
    unlink(path)
  }

  private func acceptLoop() {
    while true {
      let client = accept(listener, nil, nil)
      if client < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return
      }
      _ = fcntl(client, F_SETFD, FD_CLOEXEC)
      if isStopping {
        close(client)
        return
      }
      if !serve(client) { close(client) }
    }
  }

  /// Answers one connection; true when a stream handler took it over.
  private func serve(_ client: Int32) -> Bool {
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let response: ControlResponse
    if pb_unix_peer_uid(client) != 0 {
      response = .failure("permission denied: only root may control a lab")
    } else if let bytes = readRequest(from: client),
      let request = ControlFraming.decodeRequest(bytes)
    {
      if request.command.isStreamed, let streamHandler {
        // The stream waits on its reader for as long as it runs.
        var none = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        streamHandler(request, client)
        return true
      }
      response = handler(request)
    } else {
      response = .failure("malformed control request")
    }
    if let data = try? JSONEncoder().encode(response) {
      _ = writeAll(Array(data), to: client)
    }
    return false
  }
}

/// The CLI side: one request, one response.
public enum ControlClient {
  /// Sends `request` to the daemon at `path` and returns its response.
  public static func send(_ request: ControlRequest, to path: String) throws(ControlError)
    -> ControlResponse
  {
    let fd = pb_unix_connect(path)
    guard fd >= 0 else {
      if -fd == EACCES {
        throw ControlError("permission denied on \(path): run as root")
      }
      throw ControlError("cannot reach the lab at \(path): \(String(cString: strerror(-fd)))")
    }
    defer { close(fd) }
    guard let body = try? JSONEncoder().encode(request), writeAll(Array(body), to: fd) else {
      throw ControlError("cannot send to \(path)")
    }
    shutdown(fd, Int32(SHUT_WR))
    guard let bytes = readAll(from: fd) else { throw ControlError("no answer from \(path)") }
    guard let response = ControlFraming.decodeResponse(bytes) else {
      throw ControlError("malformed answer from \(path)")
    }
    return response
  }

  /// Sends a streamed request (`capture`) to the daemon at `path` and returns
  /// the open connection: the request ends with a newline and the write side
  /// stays open, so shutting it down later tells the daemon to stop.
  public static func openStream(_ request: ControlRequest, to path: String) throws(ControlError)
    -> Int32
  {
    let fd = pb_unix_connect(path)
    guard fd >= 0 else {
      if -fd == EACCES {
        throw ControlError("permission denied on \(path): run as root")
      }
      throw ControlError("cannot reach the lab at \(path): \(String(cString: strerror(-fd)))")
    }
    guard let body = try? JSONEncoder().encode(request),
      writeAll(Array(body) + [UInt8(ascii: "\n")], to: fd)
    else {
      close(fd)
      throw ControlError("cannot send to \(path)")
    }
    return fd
  }
}
