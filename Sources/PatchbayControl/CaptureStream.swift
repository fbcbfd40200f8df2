import Glibc

/// What `patchbay capture` asks the daemon for.
public struct CaptureRequest: Codable, Sendable, Equatable {
  /// The ports, `SWITCH/PORT`, in the order of their pcapng interface IDs.
  public var ports: [String]
  /// A tcpdump filter expression, if any.
  public var filter: String?
  /// Bytes kept of each frame.
  public var snaplen: Int
  /// `in`, `out` or `both`.
  public var direction: String
  /// Stop after this many frames, if given.
  public var count: Int?

  /// Makes a capture request.
  public init(ports: [String], filter: String?, snaplen: Int, direction: String, count: Int?) {
    self.ports = ports
    self.filter = filter
    self.snaplen = snaplen
    self.direction = direction
    self.count = count
  }
}

/// The summary a capture ends with.
public struct CaptureSummary: Codable, Sendable, Equatable {
  /// Frames written.
  public var captured: UInt64
  /// Frames that did not match the filter.
  public var filteredOut: UInt64
  /// Frames lost because the reader was too slow.
  public var lost: UInt64

  /// Makes a summary.
  public init(captured: UInt64, filteredOut: UInt64, lost: UInt64) {
    self.captured = captured
    self.filteredOut = filteredOut
    self.lost = lost
  }
}

/// The capture stream on the control connection: messages of one kind byte,
/// a 4-byte little-endian length and the payload. First a `response` (JSON
/// `ControlResponse`: the capture started, or why not), then the pcapng
/// `header`, then `blocks` (whole pcapng blocks) as frames arrive, and last a
/// `summary` (JSON `CaptureSummary`) before the daemon closes the connection.
/// The client ends a capture by shutting down its write side.
public enum CaptureStream {
  /// A message's kind.
  public enum Kind: UInt8, Sendable {
    /// JSON `ControlResponse`.
    case response = 0x52  // R
    /// The pcapng section header and interface blocks.
    case header = 0x48  // H
    /// Whole pcapng blocks.
    case blocks = 0x50  // P
    /// JSON `CaptureSummary`.
    case summary = 0x53  // S
  }

  /// The largest payload a reader accepts (a run of blocks is at most the ring's size).
  public static let maximumPayload = 64 << 20

  /// Sends one message; false when the reader is gone. Never raises SIGPIPE.
  public static func send(_ kind: Kind, _ payload: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
    let length = UInt32(payload.count)
    let bytes: [UInt8] = [
      kind.rawValue, UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF),
      UInt8(length >> 24),
    ]
    return writeAll(bytes, to: fd) && writeAll(payload, to: fd)
  }

  /// Sends one message with `payload` from an array.
  public static func send(_ kind: Kind, _ payload: [UInt8], to fd: Int32) -> Bool {
    payload.withUnsafeBytes { send(kind, $0, to: fd) }
  }

  /// Reads the next message from a blocking descriptor; nil at the end of the
  /// stream (or on a malformed one).
  public static func receive(from fd: Int32) -> (kind: Kind, payload: [UInt8])? {
    receive { readExactly(&$0, from: fd) }
  }

  /// Reads the next message with `fill`, which fills its whole buffer or
  /// returns false at the end of the stream; nil at the end of the stream (or
  /// on a malformed one). The framing `receive(from:)` reads a descriptor with.
  public static func receive(filling fill: (inout [UInt8]) -> Bool) -> (
    kind: Kind, payload: [UInt8]
  )? {
    var prefix = [UInt8](repeating: 0, count: 5)
    guard fill(&prefix), let kind = Kind(rawValue: prefix[0]) else { return nil }
    let length = Int(prefix[1]) | Int(prefix[2]) << 8 | Int(prefix[3]) << 16 | Int(prefix[4]) << 24
    guard length <= maximumPayload else { return nil }
    var payload = [UInt8](repeating: 0, count: length)
    guard fill(&payload) else { return nil }
    return (kind, payload)
  }

  private static func readExactly(_ buffer: inout [UInt8], from fd: Int32) -> Bool {
    var offset = 0
    while offset < buffer.count {
      let count = buffer.withUnsafeMutableBytes {
        Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset)
      }
      if count < 0 {
        if errno == EINTR { continue }
        return false
      }
      if count == 0 { return false }
      offset += count
    }
    return true
  }
}
