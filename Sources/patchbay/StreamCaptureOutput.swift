import Foundation
import Glibc
import PatchbayControl
import PatchbayIO

/// A capture streamed to a `patchbay capture` client over its control
/// connection (see `CaptureStream`). The client stops it by shutting down its
/// write side, or by going away; a client that reads slowly only makes the
/// capture's ring overflow, which the datapath counts as lost.
final class StreamCaptureOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: after the capture starts, only its writer thread uses this.
  private let connection: Int32

  init(_ connection: Int32) { self.connection = connection }

  /// Answers that the capture did not start, and closes the connection.
  func refuse(_ reason: String) {
    send(.response, json: ControlResponse.failure(reason))
    close(connection)
  }

  func begin(header: [UInt8]) -> Bool {
    send(.response, json: ControlResponse.success())
      && CaptureStream.send(.header, header, to: connection)
  }

  func write(blocks: UnsafeRawBufferPointer) -> Bool {
    CaptureStream.send(.blocks, blocks, to: connection)
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
    close(connection)
  }

  @discardableResult
  private func send<Value: Encodable>(_ kind: CaptureStream.Kind, json value: Value) -> Bool {
    guard let data = try? JSONEncoder().encode(value) else { return false }
    return CaptureStream.send(kind, Array(data), to: connection)
  }
}
