/// One running capture of a lab, as `patchbay status` shows it: a topology
/// capture writing its file, or a `patchbay capture` client's stream.
public struct CaptureStatus: Codable, Sendable, Equatable {
  /// `capture web` (the topology's `captures: web`) or `client 3`.
  public var name: String
  /// The file it writes (a ring's first file as named), or `stream`.
  public var destination: String
  /// `writing`, or `failed` while its output cannot be written.
  public var state: String
  /// Why it cannot write (one line), while `state` is `failed`.
  public var error: String?
  /// Frames written.
  public var captured: UInt64
  /// Frames that did not match its filter.
  public var filteredOut: UInt64
  /// Frames lost because the writer fell behind (its ring was full).
  public var lost: UInt64
  /// Frames lost because the output could not be written (a full disk).
  public var unwritten: UInt64

  /// Makes a capture's status.
  public init(
    name: String, destination: String, state: String, error: String?, captured: UInt64,
    filteredOut: UInt64, lost: UInt64, unwritten: UInt64
  ) {
    self.name = name
    self.destination = destination
    self.state = state
    self.error = error
    self.captured = captured
    self.filteredOut = filteredOut
    self.lost = lost
    self.unwritten = unwritten
  }
}
