import ArgumentParser
import Foundation
import PatchbayControl
import PatchbayCore
import PatchbayLab

/// `patchbay status [NAME] [--json]`.
struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Running labs: each port's kind, state, VLAN mode, rate limit, counters and drops.")

  @Argument(
    help: "A lab's name (default: every running lab).", completion: .custom(Completions.labs))
  var lab: String?

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    try requireRoot("patchbay status")
    let names: [String]
    if let lab {
      names = [try LabName.resolve(lab)]
    } else {
      names = LabPaths.knownLabs().filter { LabPaths(name: $0).runningPID != nil }
    }
    let statuses = try names.map { name in
      guard let status = try LabName.ask(name, ControlRequest.status).status else {
        throw PatchbayError("lab \(name) sent no status")
      }
      return status
    }
    if json {
      print(try JSONOutput.encode(lab == nil ? AnyEncodable(statuses) : AnyEncodable(statuses[0])))
      return
    }
    if statuses.isEmpty {
      print("no lab is running")
      return
    }
    print(TerminalText.escapedLines(statuses.map(StatusText.render).joined(separator: "\n\n")))
  }
}

/// JSON for `--json` outputs: sorted keys, pretty-printed, every unprintable
/// character in a string (a guest's host name) as a `\uNNNN` escape.
enum JSONOutput {
  static func encode(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return TerminalText.jsonSafe(String(decoding: try encoder.encode(value), as: UTF8.self))
  }
}

/// Type erasure for encoding either one value or an array.
struct AnyEncodable: Encodable {
  let value: any Encodable
  init(_ value: any Encodable) { self.value = value }
  func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// Text tables for `status`.
enum StatusText {
  /// Drop counts as `reason=count` pairs by reason name, or "0".
  static func dropList(_ drops: DropCounts<DropReason>) -> String {
    drops.isEmpty ? "0" : drops.byName.map { "\($0.name)=\($0.count)" }.joined(separator: " ")
  }

  static func render(_ status: LabStatus) -> String {
    var header =
      "lab \(status.name)  pid \(status.pid)  up \(formatDuration(status.uptimeSeconds))"
    if let threads = status.datapathThreads {
      header += "  \(threads) datapath thread\(threads == 1 ? "" : "s")"
    }
    var lines = [header + "  (\(status.topologyFile))"]
    for switchStatus in status.switches {
      lines.append(
        "switch \(switchStatus.name): \(switchStatus.macCount) MACs (limit \(switchStatus.macTableSize), aging \(formatDuration(switchStatus.macAgingSeconds)); "
          + "learned \(switchStatus.macEvents.learned), moved \(switchStatus.macEvents.moved), evicted \(switchStatus.macEvents.evicted))"
      )
      var rows = [
        [
          "PORT", "KIND", "INTERFACE", "STATE", "VLAN", "RATE LIMIT", "RX/S", "TX/S", "RX PKTS",
          "RX BYTES", "TX PKTS", "TX BYTES", "DOWNS", "DROPS", "TX DROPS",
        ]
      ]
      for port in switchStatus.ports {
        rows.append([
          port.name, port.offloads ? port.kind : "\(port.kind), offload off", port.interface,
          port.state, port.vlanMode, port.rateLimit,
          formatBitRate(port.rxBitsPerSecond), formatBitRate(port.txBitsPerSecond),
          String(port.rxPackets), String(port.rxBytes), String(port.txPackets),
          String(port.txBytes), String(port.linkDowns), dropList(port.drops),
          dropList(port.txDrops),
        ])
      }
      lines.append(contentsOf: table(rows).map { "  " + $0 })
    }
    if !status.hosts.isEmpty {
      lines.append("hosts:")
      var rows = [["HOST", "NAMESPACE", "PORT", "ADDRESS", "MAC"]]
      for host in status.hosts {
        rows.append([host.name, host.namespace, host.port, host.address ?? "-", host.mac])
      }
      lines.append(contentsOf: table(rows).map { "  " + $0 })
    }
    if !status.vms.isEmpty {
      lines.append("vms:")
      var rows = [["VM", "STATE", "PID", "PORTS", "MAC", "CONSOLE"]]
      for vm in status.vms {
        rows.append([
          vm.name, vm.state, vm.pid.map(String.init) ?? "-", vm.ports.joined(separator: ","),
          vm.mac, vm.console,
        ])
      }
      lines.append(contentsOf: table(rows).map { "  " + $0 })
    }
    if let captures = status.captures, !captures.isEmpty {
      lines.append("captures:")
      var rows = [["CAPTURE", "STATE", "CAPTURED", "LOST", "UNWRITTEN", "TO", "ERROR"]]
      for capture in captures {
        rows.append([
          capture.name, capture.state, String(capture.captured), String(capture.lost),
          String(capture.unwritten), capture.destination, capture.error ?? "-",
        ])
      }
      lines.append(contentsOf: table(rows).map { "  " + $0 })
    }
    return lines.joined(separator: "\n")
  }
}

/// Left-aligned columns separated by two spaces, every cell escaped first
/// (`TerminalText`), so the widths are those of what is printed.
func table(_ rows: [[String]]) -> [String] {
  let rows = rows.map { $0.map(TerminalText.escaped) }
  guard let columns = rows.map(\.count).max() else { return [] }
  var widths = [Int](repeating: 0, count: columns)
  for row in rows {
    for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
  }
  return rows.map { row in
    row.enumerated().map { index, cell in
      index == row.count - 1
        ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
    }.joined(separator: "  ")
  }
}

/// `0`, `640kbit`, `9.87mbit`, `1.20gbit`: three significant digits at most.
func formatBitRate(_ bits: UInt64) -> String {
  guard bits >= 1000 else { return bits == 0 ? "0" : "\(bits)bit" }
  let units: [(Double, String)] = [(1e12, "tbit"), (1e9, "gbit"), (1e6, "mbit"), (1e3, "kbit")]
  let value = Double(bits)
  let (scale, unit) = units.first { value >= $0.0 } ?? (1e3, "kbit")
  let scaled = value / scale
  let digits = scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2
  return String(format: "%.\(digits)f", scaled) + unit
}

/// `42s`, `5m`, `1h30m` style durations.
func formatDuration(_ seconds: Double) -> String {
  if seconds < 10 { return String(format: "%.1fs", seconds) }
  let whole = Int(seconds)
  if whole < 120 { return "\(whole)s" }
  if whole < 7200 { return whole % 60 == 0 ? "\(whole / 60)m" : "\(whole / 60)m\(whole % 60)s" }
  return "\(whole / 3600)h\(whole % 3600 / 60)m"
}
