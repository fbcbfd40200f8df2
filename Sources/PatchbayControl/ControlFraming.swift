import Foundation

/// How a request and a response are cut out of a control connection and
/// decoded, apart from the socket, so that the exact path the daemon and the
/// CLI take on untrusted bytes can be tested (and fuzzed) on plain bytes.
public enum ControlFraming {
  /// One step of reading a connection.
  public enum Read: Sendable, Equatable {
    /// The next byte.
    case byte(UInt8)
    /// The peer shut its write side down.
    case end
    /// Reading failed (not EINTR, which the reader retries itself).
    case failed
  }

  /// The largest request or response accepted, so that a confused peer cannot
  /// make the daemon grow without bound.
  public static var maximumMessageSize: Int { PatchbayControl.maximumMessageSize }

  /// The largest request the daemon reads (requests are a few hundred bytes).
  public static var maximumRequestSize: Int { PatchbayControl.maximumRequestSize }

  /// Reads one request with `next`: the bytes up to a newline (a client that
  /// keeps its connection open, like `capture`) or the end (one that shut its
  /// write side down). Nil when reading failed or the request grew past
  /// `maximumRequestSize`.
  public static func request(reading next: () -> Read) -> [UInt8]? {
    var data: [UInt8] = []
    while data.count <= maximumRequestSize {
      switch next() {
      case .failed: return nil
      case .end: return data
      case .byte(let byte):
        if byte == UInt8(ascii: "\n") { return data }
        data.append(byte)
      }
    }
    return nil
  }

  /// The request in `bytes` (JSON), as the daemon decodes it, or the one line
  /// the daemon answers instead: what a command lacks (`setRate needs a
  /// port`), else `malformed control request`.
  public static func parseRequest(_ bytes: [UInt8]) throws(ControlError) -> ControlRequest {
    do {
      return try JSONDecoder().decode(ControlRequest.self, from: Data(bytes))
    } catch let error as ControlError {
      throw error
    } catch {
      throw ControlError("malformed control request")
    }
  }

  /// The request in `bytes` (JSON), as the daemon decodes it; nil when malformed.
  public static func decodeRequest(_ bytes: [UInt8]) -> ControlRequest? {
    try? parseRequest(bytes)
  }

  /// `request` as the CLI sends it: JSON with its keys sorted, so that one
  /// request is always the same bytes. Nil only if encoding fails.
  public static func encodeRequest(_ request: ControlRequest) -> [UInt8]? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return (try? encoder.encode(request)).map(Array.init)
  }

  /// The response in `bytes` (JSON), as the CLI decodes it; nil when malformed.
  public static func decodeResponse(_ bytes: [UInt8]) -> ControlResponse? {
    try? JSONDecoder().decode(ControlResponse.self, from: Data(bytes))
  }
}
