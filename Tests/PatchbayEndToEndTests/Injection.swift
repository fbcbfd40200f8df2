import Foundation
import Testing

/// Hostile and spoofed frames from inside a lab host, through
/// `Support/inject.py` (a packet socket on the host's eth0, so the switch
/// reads each frame from the port's TAP exactly as it was written).
enum Inject {
  /// The script's path next to this file (Support/ is not part of the test target).
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Support/inject.py").path

  /// Runs `inject.py ARGUMENTS...` in `host` of `lab` and decodes its JSON report
  /// (`sent`, `refused` by errno name, `seconds`, and what the subcommand adds).
  static func run(_ lab: String, _ host: String, _ arguments: String..., timeout: Double = 60)
    throws -> [String: Any]
  {
    try run(lab, host, arguments, timeout: timeout)
  }

  /// `run(_:_:_:timeout:)` with the arguments in an array.
  static func run(_ lab: String, _ host: String, _ arguments: [String], timeout: Double = 60)
    throws -> [String: Any]
  {
    let result = try Harness.exec(lab, host, ["python3", script] + arguments, timeout: timeout)
    try #require(result.status == 0, "inject.py \(arguments) failed: \(result.errors)")
    let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
    return try #require(
      JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      "inject.py \(arguments) printed no report: \(result.output)")
  }

  /// Sends each frame (hex) from `host`, as it is; the kernel must take them all.
  static func frames(_ lab: String, _ host: String, _ frames: [String]) throws {
    let report = try run(lab, host, ["frames"] + frames)
    #expect(report["sent"] as? Int == frames.count, "\(report)")
  }
}

extension Harness {
  /// Runs CMD (an array) in host `host` of lab `lab` through `patchbay exec`.
  @discardableResult
  static func exec(_ lab: String, _ host: String, _ command: [String], timeout: Double = 30)
    throws -> Result
  {
    try run(binary, ["exec", lab, host, "--"] + command, timeout: timeout)
  }

  /// Every port of every switch in a decoded status.
  static func ports(in status: [String: Any]) -> [[String: Any]] {
    (status["switches"] as? [[String: Any]] ?? []).flatMap {
      $0["ports"] as? [[String: Any]] ?? []
    }
  }

  /// The receive drops of port `name` by reason (only non-zero reasons appear).
  static func drops(_ name: String, in status: [String: Any]) -> [String: Int] {
    port(name, in: status)?["drops"] as? [String: Int] ?? [:]
  }

  /// The MAC of host `name`, as status shows it (derived when the topology gives none).
  static func mac(of name: String, in status: [String: Any]) throws -> String {
    let hosts = status["hosts"] as? [[String: Any]] ?? []
    return try #require(hosts.first { $0["name"] as? String == name }?["mac"] as? String)
  }

  /// Expects every port's receive side to add up: each frame received was
  /// forwarded, flooded or dropped for one reason (`rxPackets == forwarded +
  /// flooded + sum(drops)`). A frame that escaped the count, or was counted
  /// twice, is a frame the switch lost track of. Read after the traffic has
  /// stopped: a snapshot taken mid-frame would not add up by construction.
  static func expectCountersAddUp(
    _ status: [String: Any], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    for port in ports(in: status) {
      let received = port["rxPackets"] as? Int ?? -1
      let forwarded = port["forwarded"] as? Int ?? 0
      let flooded = port["flooded"] as? Int ?? 0
      let dropped = (port["drops"] as? [String: Int] ?? [:]).values.reduce(0, +)
      #expect(
        received == forwarded + flooded + dropped,
        "\(port["name"] ?? "?"): rx \(received) != forwarded \(forwarded) + flooded \(flooded) + drops \(port["drops"] ?? [:])",
        sourceLocation: sourceLocation)
    }
  }
}
