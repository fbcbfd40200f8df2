/// One request on the control socket: a JSON object, then the client shuts
/// down its write side (or, for a stream, sends a newline). Each case carries
/// exactly what its command needs, so a request short of a field cannot be
/// made; one decoded short of a field is refused with the line the daemon
/// answers (`setRate needs a port`).
///
/// On the wire: `{"command": NAME}` plus the case's fields under the keys
/// `switchName`, `port`, `settings` and `capture`. Keys a command does not
/// take are ignored, as any unknown key is.
public enum ControlRequest: Sendable, Equatable {
  /// Ports, counters, hosts.
  case status
  /// MAC tables, of one switch when `switchName` is given.
  case fdb(switchName: String?)
  /// Stop the lab and remove what it created.
  case shutdown
  /// Change one port's rate limits (`patchbay set NAME SWITCH/PORT rate ...`):
  /// `port` is `SWITCH/PORT`, `settings` as typed (`ingress=50mbit`, `egress=off`, `off`).
  case setRate(port: String, settings: [String])
  /// Capture ports (`patchbay capture`): answered with a stream, not one response.
  case capture(CaptureRequest)
  /// NAT sessions, port forwards and DHCP leases of each uplink.
  case nat

  /// The command's name on the wire.
  public var command: ControlCommand {
    switch self {
    case .status: .status
    case .fdb: .fdb
    case .shutdown: .shutdown
    case .setRate: .setRate
    case .capture: .capture
    case .nat: .nat
    }
  }
}

/// The names of the requests on the wire (`ControlRequest.command`).
public enum ControlCommand: String, Codable, Sendable, CaseIterable {
  /// `ControlRequest.status`.
  case status
  /// `ControlRequest.fdb`.
  case fdb
  /// `ControlRequest.shutdown`.
  case shutdown
  /// `ControlRequest.setRate`.
  case setRate
  /// `ControlRequest.capture`.
  case capture
  /// `ControlRequest.nat`.
  case nat

  /// True for a command answered with a stream on a connection that stays open.
  public var isStreamed: Bool { self == .capture }
}

extension ControlRequest: Codable {
  private enum Key: String, CodingKey {
    case command, switchName, port, settings, capture
  }

  /// Decodes today's JSON. A command short of a field it needs throws a
  /// `ControlError` with the daemon's line for it; anything else malformed
  /// throws a `DecodingError`.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    switch try container.decode(ControlCommand.self, forKey: .command) {
    case .status:
      self = .status
    case .fdb:
      self = .fdb(switchName: try container.decodeIfPresent(String.self, forKey: .switchName))
    case .shutdown:
      self = .shutdown
    case .setRate:
      // Both read before either is missed, so a wrong type is malformed whatever is absent.
      let port = try container.decodeIfPresent(String.self, forKey: .port)
      let settings = try container.decodeIfPresent([String].self, forKey: .settings)
      guard let port else { throw ControlError("setRate needs a port") }
      guard let settings else { throw ControlError("setRate needs settings") }
      self = .setRate(port: port, settings: settings)
    case .capture:
      guard let capture = try container.decodeIfPresent(CaptureRequest.self, forKey: .capture)
      else { throw ControlError("malformed capture request") }
      self = .capture(capture)
    case .nat:
      self = .nat
    }
  }

  /// Encodes `command` and the case's fields, an absent switch name left out.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(command, forKey: .command)
    switch self {
    case .status, .shutdown, .nat:
      break
    case .fdb(let switchName):
      try container.encodeIfPresent(switchName, forKey: .switchName)
    case .setRate(let port, let settings):
      try container.encode(port, forKey: .port)
      try container.encode(settings, forKey: .settings)
    case .capture(let capture):
      try container.encode(capture, forKey: .capture)
    }
  }
}
