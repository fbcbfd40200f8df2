import Glibc
import Synchronization

/// Where the daemon's log lines go: a file descriptor, written one whole
/// line per `write` under a lock, so lines from the control thread, capture
/// threads and the main thread never interleave.
///
/// A detached daemon's output moves to `daemon.log` only once its lab is
/// ready (its standard error is the pipe `up` reads until then), so it
/// starts `holding`: lines wait in memory, at most `heldLimit` of them, until
/// `release()` writes them and every later line straight through.
public final class LogOutput: Sendable {
  private struct State {
    var isHolding: Bool
    var held: [String] = []
    var droppedWhileHeld = 0
  }

  private let descriptor: Int32
  private let state: Mutex<State>
  /// The most lines held before `release()`; later ones are counted, not kept.
  public static let heldLimit = 1000

  /// Writes to `descriptor` (not owned: never closed), holding lines until
  /// `release()` when `holding`.
  public init(descriptor: Int32, holding: Bool = false) {
    self.descriptor = descriptor
    state = Mutex(State(isHolding: holding))
  }

  /// Writes `line` and a newline, or holds it.
  public func write(_ line: String) {
    state.withLock { state in
      if state.isHolding {
        if state.held.count < LogOutput.heldLimit {
          state.held.append(line)
        } else {
          state.droppedWhileHeld += 1
        }
        return
      }
      writeAll(line + "\n")
    }
  }

  /// Writes the held lines and stops holding.
  public func release() {
    state.withLock { state in
      guard state.isHolding else { return }
      state.isHolding = false
      for line in state.held { writeAll(line + "\n") }
      if state.droppedWhileHeld > 0 {
        writeAll("(\(state.droppedWhileHeld) log lines from set-up were not kept)\n")
      }
      state.held = []
    }
  }

  // A short write (a full disk, a signal) goes on from where it stopped; a
  // line that cannot be written is lost rather than blocking the daemon.
  private func writeAll(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    bytes.withUnsafeMutableBytes { buffer in
      while offset < buffer.count {
        let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        offset += written
      }
    }
  }
}
