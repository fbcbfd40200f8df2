import ArgumentParser
import Foundation
import PatchbayControl

/// `patchbay nat [NAME] [--json]`.
struct NATCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nat", abstract: "Show each uplink's NAT sessions, port forwards and DHCP leases.")

  @Argument(
    help: "The lab's name (default: the only running lab).",
    completion: .custom(Completions.labs))
  var lab: String?

  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    try requireRoot("patchbay nat")
    let name = try LabName.runningLab(lab)
    let uplinks = try LabName.ask(name, ControlRequest.nat).uplinks ?? []
    if json {
      print(try JSONOutput.encode(uplinks))
      return
    }
    if uplinks.isEmpty {
      print("lab \(name) has no uplinks")
      return
    }
    var lines: [String] = []
    for uplink in uplinks {
      lines.append(contentsOf: describe(uplink))
    }
    // Host names come from guests: nothing of them may reach the terminal raw.
    print(TerminalText.escapedLines(lines.joined(separator: "\n")))
  }

  private func describe(_ uplink: UplinkRecord) -> [String] {
    let detail: String
    switch uplink.mode {
    case .nat: return describeNAT(uplink)
    case .bridge: detail = "the physical NIC \(uplink.interface ?? "-") is the port"
    case .hostOnly:
      detail =
        "host interface \(uplink.interface ?? "-") with \(uplink.insideAddress ?? "-"), nothing leaves"
    }
    return ["uplink \(uplink.name): \(uplink.mode.rawValue) on \(uplink.port), \(detail)"]
  }

  private func describeNAT(_ uplink: UplinkRecord) -> [String] {
    var lines = [
      "uplink \(uplink.name): nat on \(uplink.port) via \(uplink.interface ?? "-"), "
        + "outside \(uplink.outsideAddress ?? "-") (mac \(uplink.outsideMAC ?? "-")), "
        + "inside \(uplink.insideAddress ?? "-"), gateway \(uplink.gateway ?? "-")"
        + (uplink.dnsServer.map { ", dns relayed to \($0)" } ?? "")
    ]
    let counters = uplink.counters ?? NATCounters()
    lines.append(
      "  sessions: \(uplink.sessions.count) of \(uplink.maxSessions ?? 0) "
        + "(created \(counters.sessionsCreated), expired \(counters.sessionsExpired), "
        + "evicted \(counters.sessionsEvicted))")
    if !uplink.sessions.isEmpty {
      var rows = [
        ["PROTO", "INSIDE", "OUTSIDE", "REMOTE", "STATE", "IDLE", "EXPIRES", "OUT", "IN"]
      ]
      for session in uplink.sessions.reversed() {
        rows.append([
          session.transport + (session.forwarded ? " (fwd)" : ""), session.inside,
          session.outside, session.remote, session.state, formatDuration(session.idleSeconds),
          formatDuration(session.expiresInSeconds), String(session.packetsOut),
          String(session.packetsIn),
        ])
      }
      lines.append(contentsOf: table(rows).map { "    " + $0 })
    }
    if !uplink.forwards.isEmpty {
      lines.append("  forwards:")
      for forward in uplink.forwards {
        lines.append(
          "    \(forward.transport) \(uplink.outsideAddress.map { String($0.prefix { $0 != "/" }) } ?? "-"):\(forward.outsidePort) -> \(forward.inside)"
        )
      }
    }
    if !uplink.leases.isEmpty {
      lines.append("  dhcp leases:")
      var rows = [["MAC", "ADDRESS", "HOST", "EXPIRES", "GRANTS"]]
      for lease in uplink.leases {
        rows.append([
          lease.mac, lease.address + (lease.fixed ? " (fixed)" : ""), lease.hostName ?? "-",
          formatDuration(lease.expiresInSeconds), String(lease.grants),
        ])
      }
      lines.append(contentsOf: table(rows).map { "    " + $0 })
    }
    lines.append(
      "  frames: translated-out \(counters.translatedOut), translated-in \(counters.translatedIn), "
        + "icmp-errors-translated \(counters.icmpErrorsTranslated), answered \(counters.answered)")
    lines.append(
      "  neighbours: inside \(counters.neighboursInside), outside \(counters.neighboursOutside), "
        + "evicted \(counters.neighboursEvicted)")
    let drops = uplink.drops.byName.map { "\($0.name) \($0.count)" }
    lines.append("  drops: \(drops.isEmpty ? "none" : drops.joined(separator: ", "))")
    return lines
  }
}
