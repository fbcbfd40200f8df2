import PatchbayWire
import Yams

// The top level of a topology file: its keys, the order sections are read in, and the
// cross-checks run once all are read.

extension Loader {
  mutating func load() -> Topology? {
    guard let root = document.root, !root.isNull else {
      error(
        "the file is empty; a topology needs 'name' and 'switches'",
        at: SourceLocation(file: file, line: 1, column: 1))
      return nil
    }
    guard case .mapping = root else {
      error("a topology must be a mapping with 'name' and 'switches'", at: location(of: root))
      return nil
    }
    let entries = fields(
      of: root, known: TopologyKeys.topLevel, context: "at the top level", what: "the topology")
    let rootLocation = location(of: root)
    requireKey("name", in: entries, context: "at the top level", at: rootLocation)
    requireKey("switches", in: entries, context: "at the top level", at: rootLocation)
    // The lab name goes into default interface names, so read it before the switches.
    if let entry = entries.first(where: { $0.key == "name" }) { labName = readLabName(entry) }

    var switches: [SwitchSpec] = []
    var hosts: [HostSpec] = []
    var vms: [VMSpec] = []
    var uplinks: [UplinkSpec] = []
    var captures: [CaptureSpec] = []
    var mirrors: [MirrorSpec] = []
    var busyPoll = Topology.defaultBusyPoll
    var adaptsBusyPoll = true
    var logCap = Topology.defaultLogCap
    var datapathThreads: Int?
    for entry in entries {
      switch entry.key {
      case "switches":
        let switchEntries = named(of: entry.value, kind: "switch", what: "'switches'")
        if entry.value.isNull || entry.value.mapping?.isEmpty == true {
          error("'switches' needs at least one switch", at: entry.keyLocation)
        }
        switches = switchEntries.map { readSwitch($0) }
      case "hosts":
        hosts = named(of: entry.value, kind: "host", what: "'hosts'").compactMap { readHost($0) }
      case "vms":
        vms = named(of: entry.value, kind: "vm", what: "'vms'").compactMap { readVM($0) }
      case "uplinks":
        uplinks = named(of: entry.value, kind: "uplink", what: "'uplinks'").compactMap {
          readUplink($0)
        }
      case "captures":
        captures = named(of: entry.value, kind: "capture", what: "'captures'").compactMap {
          readCapture($0)
        }
      case "mirrors":
        mirrors = named(of: entry.value, kind: "mirror", what: "'mirrors'").compactMap {
          readMirror($0)
        }
      case "busy-poll":
        if text(entry) == "auto" {
          busyPoll = Topology.defaultBusyPoll
          adaptsBusyPoll = true
        } else if let duration = value(entry, ValueFormat.duration) {
          if duration <= Topology.maximumBusyPoll {
            busyPoll = duration
            adaptsBusyPoll = false
          } else {
            error(
              "invalid busy-poll '\(text(entry) ?? "")': at most 1s (0s turns polling off, auto learns it)",
              at: entry.valueLocation)
          }
        }
      case "log-cap":
        if let bytes = value(entry, ValueFormat.size) {
          if Topology.logCaps.contains(bytes), let cap = Int(exactly: bytes) {
            logCap = cap
          } else {
            error(
              "invalid log-cap '\(text(entry) ?? "")': from 4KiB to 1GiB", at: entry.valueLocation)
          }
        }
      case "datapath-threads":
        if let count = integer(entry, in: Topology.datapathThreadCounts) {
          datapathThreads = count
        }
      default:
        break
      }
    }

    checkInterfaces()
    checkPeers()
    checkUplinkPorts()
    checkMirrors(mirrors)
    checkClaims()
    checkPortLists()
    checkMACs()
    checkHostAddresses()
    checkHostBoundSecurity(hosts)
    for target in forwardTargets {
      guard let host = hosts.first(where: { $0.name == target.host }) else {
        error("host '\(target.host)' does not exist", at: target.location)
        continue
      }
      if case .fixed = host.address {
      } else {
        error(
          "forward target host '\(target.host)' needs a fixed address (or name the address)",
          at: target.location)
      }
    }
    checkVeths(switches)

    guard let labName, diagnostics.isEmpty else { return nil }
    return Topology(
      name: labName, sourcePath: file, switches: switches, hosts: hosts, vms: vms,
      uplinks: uplinks, captures: captures, mirrors: mirrors, busyPoll: busyPoll,
      adaptsBusyPoll: adaptsBusyPoll, logCap: logCap, datapathThreads: datapathThreads)
  }

  mutating func readLabName(_ entry: Entry) -> String? {
    guard let name = text(entry) else { return nil }
    if let problem = LabNameRule.problem(with: name) {
      error(problem, at: entry.valueLocation)
      return nil
    }
    return name
  }
}
