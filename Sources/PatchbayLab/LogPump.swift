import Foundation
import Glibc
import Logging
import Synchronization

/// Copies what programs write into a pipe to a `CappedLog`, on a thread of
/// its own: the programs (QEMU's console log, a host's `run:` command and
/// DHCP client) get the pipe's write end as their output, so nothing they
/// print reaches /run except through the cap.
final class LogPump: @unchecked Sendable {
  // Sendable: the lets never change; `busy` is behind a Mutex.

  /// The log it writes.
  let log: CappedLog
  /// The pipe's write end, for the programs' output (close-on-exec: a spawn dups it).
  let writeEnd: Int32
  private let readEnd: Int32
  private let busy = Mutex(false)

  /// Makes the pipe and starts the thread; it ends once every write end is
  /// closed. `label` names the log in the daemon's one line about discarding.
  init(log: CappedLog, label: String, logger: Logger = .silent) throws(LabError) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else {
      throw LabError("\(label): cannot make a pipe: \(String(cString: strerror(errno)))")
    }
    // Close-on-exec (Glibc's pipe2 does not import): only the programs it is handed to keep it.
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    self.log = log
    self.readEnd = ends[0]
    self.writeEnd = ends[1]
    let started = DispatchSemaphore(value: 0)
    let thread = Thread { [self] in
      // It only copies bytes between descriptors it already has.
      if Privileges.isPrivileged { try? Privileges.restrictThisThread(to: Privileges.none) }
      started.signal()
      run(label: label, logger: logger)
    }
    thread.name = "patchbay-log"
    thread.start()
    started.wait()
  }

  private func run(label: String, logger: Logger) {
    var buffer = [UInt8](repeating: 0, count: 65536)
    var warned = false
    var ready = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
    while true {
      if poll(&ready, 1, -1) < 0 {
        if errno == EINTR { continue }
        break
      }
      // Read and copy under the lock, so `drain` sees bytes either in the pipe or in the log.
      let count = busy.withLock { _ in
        let count = read(readEnd, &buffer, buffer.count)
        if count > 0 {
          buffer.withUnsafeBytes { log.append(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
        return count < 0 && errno == EINTR ? 1 : count
      }
      guard count > 0 else { break }
      if !warned && log.discarded > 0 {
        warned = true
        logger.warning(
          "\(label) printed more than twice its cap of \(log.cap) bytes; older output is discarded (\(log.path) and .1 keep the newest)"
        )
      }
    }
  }

  deinit { close(readEnd) }

  /// Closes the daemon's own write end: the thread ends once the programs' ends close too.
  func closeWriteEnd() { close(writeEnd) }

  /// Waits (up to `timeout` seconds) until what was written so far is in the
  /// log: the pipe is empty and no copy is under way.
  func drain(timeout: Double = 1) {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      var pending: Int32 = 0
      if ioctl(readEnd, UInt(FIONREAD), &pending) != 0 || pending == 0 {
        busy.withLock { _ in }
        return
      }
      usleep(5_000)
    }
  }
}
