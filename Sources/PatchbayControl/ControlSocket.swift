import CLinuxNet
import Foundation
import Glibc
import Synchronization

/// Why talking to a lab's control socket failed, in one line.
public struct ControlError: Error, CustomStringConvertible, Sendable {
  /// The line.
  public var description: String

  /// Makes an error.
  public init(_ description: String) { self.description = description }
}

/// The daemon side: accepts one JSON request per connection and answers it.
/// Only root may talk to it (the socket is mode 0600, and the peer's uid is checked).
///
/// One thread serves every connection, so none may hold it: a client gets
/// `ioTimeout` seconds to send its request and as long again to take the
/// answer, and is dropped after. Running out of descriptors (EMFILE, ENFILE)
/// pauses accepting for a moment; only `stop()` ends the loop.
public final class ControlServer: @unchecked Sendable {
  // Sendable: `listener` is set once in `init`; `isStopping` and the counter are atomics.

  /// Where the socket lives.
  public let path: String
  /// Seconds a client has to send its request, and again to read the answer.
  public let ioTimeout: Double
  /// How long accepting pauses after it failed for want of resources.
  static let acceptBackoffMicroseconds: UInt32 = 100_000
  private let listener: Int32
  private let handler: @Sendable (ControlRequest) -> ControlResponse
  private let streamHandler: (@Sendable (ControlRequest, Int32) -> Void)?
  private let isStopping = Atomic<Bool>(false)
  /// Times `accept` failed and the loop backed off (EMFILE and the like).
  let acceptFailures = Atomic<Int>(0)
  private let finished = DispatchSemaphore(value: 0)

  /// Binds and listens at `path`; `handler` answers each request on the
  /// server's thread. A streamed command (`capture`) goes to `streamHandler`
  /// with the connection, which it then owns: it writes its stream and closes it.
  public init(
    path: String, ioTimeout: Double = 5,
    handler: @escaping @Sendable (ControlRequest) -> ControlResponse,
    streamHandler: (@Sendable (ControlRequest, Int32) -> Void)? = nil
  )
    throws(ControlError)
  {
    self.path = path
    self.ioTimeout = ioTimeout
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
    isStopping.store(true, ordering: .sequentiallyConsistent)
    shutdown(listener, Int32(SHUT_RDWR))
    finished.wait()
    close(listener)
    unlink(path)
  }

  private func acceptLoop() {
    var reported = false
    while !isStopping.load(ordering: .sequentiallyConsistent) {
      let client = accept(listener, nil, nil)
      if client < 0 {
        let error = errno
        if isStopping.load(ordering: .sequentiallyConsistent) { return }
        if error == EINTR || error == ECONNABORTED { continue }
        // Out of descriptors or memory: the connection waits in the backlog;
        // try again in a moment rather than give up the socket for good.
        acceptFailures.add(1, ordering: .relaxed)
        if !reported {
          reported = true
          FileHandle.standardError.write(
            Data(
              "patchbay: control socket: accept: \(String(cString: strerror(error))); retrying\n"
                .utf8))
        }
        usleep(Self.acceptBackoffMicroseconds)
        continue
      }
      reported = false
      _ = fcntl(client, F_SETFD, FD_CLOEXEC)
      if isStopping.load(ordering: .sequentiallyConsistent) {
        close(client)
        return
      }
      if !serve(client) { close(client) }
    }
  }

  /// Answers one connection; true when a stream handler took it over.
  private func serve(_ client: Int32) -> Bool {
    let response: ControlResponse
    if pb_unix_peer_uid(client) != 0 {
      response = .failure("permission denied: only root may control a lab")
    } else if let bytes = readRequest(from: client, until: IODeadline(after: ioTimeout)) {
      do {
        let request = try ControlFraming.parseRequest(bytes)
        if let problem = request.validationProblem {
          response = .failure(problem)
        } else if request.command.isStreamed, let streamHandler {
          // The stream waits on its reader for as long as it runs.
          streamHandler(request, client)
          return true
        } else {
          response = handler(request)
        }
      } catch {
        response = .failure(error.description)
      }
    } else {
      // Too slow, too large, or gone: nobody may be listening for an answer.
      response = .failure("malformed control request (too large, or not sent in time)")
    }
    if let data = try? JSONEncoder().encode(response) {
      _ = writeAll(Array(data), to: client, until: IODeadline(after: ioTimeout))
    }
    return false
  }
}

/// The CLI side: one request, one response, each bounded in time, so that a
/// wedged or stopped daemon makes a command fail rather than hang.
public enum ControlClient {
  /// Seconds to connect, send the request and receive the whole answer.
  public static let defaultTimeout: Double = 5

  /// Sends `request` to the daemon at `path` and returns its response, all
  /// within `timeout` seconds.
  public static func send(
    _ request: ControlRequest, to path: String, timeout: Double = defaultTimeout
  ) throws(ControlError) -> ControlResponse {
    let deadline = IODeadline(after: timeout)
    let fd = try connect(to: path, until: deadline)
    defer { close(fd) }
    guard let body = ControlFraming.encodeRequest(request),
      writeAll(body, to: fd, until: deadline)
    else {
      throw ControlError("cannot send to \(path)")
    }
    shutdown(fd, Int32(SHUT_WR))
    guard let bytes = readAll(from: fd, until: deadline) else {
      throw ControlError(
        deadline.hasPassed
          ? "the lab at \(path) did not answer within \(formatSeconds(timeout))"
          : "no answer from \(path)")
    }
    guard let response = ControlFraming.decodeResponse(bytes) else {
      throw ControlError("malformed answer from \(path)")
    }
    return response
  }

  /// Sends a streamed request (`capture`) to the daemon at `path` and returns
  /// the open connection: the request ends with a newline and the write side
  /// stays open, so shutting it down later tells the daemon to stop.
  /// Connecting and sending take at most `timeout` seconds; the stream itself has no deadline.
  public static func openStream(
    _ request: ControlRequest, to path: String, timeout: Double = defaultTimeout
  ) throws(ControlError) -> Int32 {
    let deadline = IODeadline(after: timeout)
    let fd = try connect(to: path, until: deadline)
    guard let body = ControlFraming.encodeRequest(request),
      writeAll(body + [UInt8(ascii: "\n")], to: fd, until: deadline)
    else {
      close(fd)
      throw ControlError("cannot send to \(path)")
    }
    return fd
  }

  private static func connect(to path: String, until deadline: IODeadline) throws(ControlError)
    -> Int32
  {
    let fd = connectUnix(path, until: deadline)
    guard fd >= 0 else {
      if -fd == EACCES {
        throw ControlError("permission denied on \(path): run as root")
      }
      if -fd == ETIMEDOUT {
        throw ControlError("the lab at \(path) does not accept connections")
      }
      throw ControlError("cannot reach the lab at \(path): \(String(cString: strerror(-fd)))")
    }
    return fd
  }

  private static func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
  }
}
