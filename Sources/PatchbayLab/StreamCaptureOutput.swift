import Foundation
import Glibc
import PatchbayControl
import Synchronization

/// A capture streamed to a `patchbay capture` client over its control
/// connection (see `CaptureStream`). The client stops it by shutting down its
/// write side, or by going away; a client that reads slowly only makes the
/// capture's ring overflow, which the datapath counts as lost; one that stops
/// reading altogether is cut off when the lab stops (`abandon`).
final class StreamCaptureOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: after the capture starts, only its writer thread uses this,
  // but for `abandon`, which takes `isClosed`'s lock.
  private let connection: Int32
  /// Set, under its lock, once the connection is closed, so `abandon` never
  /// shuts down a descriptor number reused since.
  private let isClosed = Mutex(false)

  init(_ connection: Int32) { self.connection = connection }

  /// Answers that the capture did not start, and closes the connection.
  func refuse(_ reason: String) {
    send(.response, json: ControlResponse.failure(reason))
    closeConnection()
  }

  func begin(header: [UInt8]) -> Bool {
    send(.response, json: ControlResponse.success())
      && CaptureStream.send(.header, header, to: connection)
  }

  func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite {
    CaptureStream.send(.blocks, blocks, to: connection) ? .written : .gone
  }

  /// Shuts the connection down both ways: a `send` blocked on a reader that
  /// stopped reading returns at once, and the capture ends.
  func abandon() {
    isClosed.withLock { closed in
      if !closed { shutdown(connection, Int32(SHUT_RDWR)) }
    }
  }

  func idle(milliseconds: Int32) -> Bool {
    var entry = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
    guard poll(&entry, 1, milliseconds) > 0 else { return true }
    // Readable means the client shut down its side (or sent something it should not have): stop.
    var byte: UInt8 = 0
    let count = recv(connection, &byte, 1, Int32(MSG_DONTWAIT))
    return count < 0 && (errno == EAGAIN || errno == EINTR)
  }

  func finish(_ statistics: CaptureStatistics) {
    send(
      .summary,
      json: CaptureSummary(
        captured: statistics.captured, filteredOut: statistics.filteredOut,
        lost: statistics.lost))
    closeConnection()
  }

  private func closeConnection() {
    isClosed.withLock { closed in
      closed = true
      close(connection)
    }
  }

  @discardableResult
  private func send<Value: Encodable>(_ kind: CaptureStream.Kind, json value: Value) -> Bool {
    guard let data = try? JSONEncoder().encode(value) else { return false }
    return CaptureStream.send(kind, Array(data), to: connection)
  }
}
