import PatchbayWire
import Yams

/// Reads topology files: YAML text in, a validated `Topology` or every problem in the file out.
public enum TopologyLoader {
  /// Parses and checks `yaml`; `file` is the path as the user wrote it, put in front of every
  /// diagnostic. Throws every problem at once, sorted by location.
  public static func load(yaml: String, file: String) throws(TopologyError) -> Topology {
    switch YAMLDocument.compose(yaml) {
    case .failure(let syntax):
      let location = SourceLocation(file: file, line: syntax.line, column: syntax.column)
      throw TopologyError(diagnostics: [
        TopologyDiagnostic(location: location, message: syntax.message)
      ])
    case .success(let document):
      var loader = Loader(file: file, document: document)
      let topology = loader.load()
      guard loader.diagnostics.isEmpty, let topology else {
        throw TopologyError(diagnostics: loader.diagnostics)
      }
      return topology
    }
  }
}

// MARK: - The walk

/// One `key: value` pair of a mapping, with where both are.
private struct Entry {
  var key: String
  var keyLocation: SourceLocation
  var value: Node
  var valueLocation: SourceLocation
}

/// A port being read, with the places later cross-checks point at.
private struct PortDraft {
  var spec: PortSpec
  /// The `tap`/`attach`/`uplink`/`peer` pair that set the kind; nil for the default TAP.
  var kindEntry: Entry?
  /// True when a kind key was written but refused: the kind is unknown, so later checks skip it.
  var kindIsInvalid = false
}

/// A host or VM claiming a port.
private struct PortClaim {
  var port: PortReference
  var owner: String
  var location: SourceLocation
}

private let topLevelKeys = [
  "name", "switches", "hosts", "vms", "uplinks", "captures", "mirrors", "busy-poll",
  "log-cap",
]
private let switchKeys = ["mac-aging", "mac-table-size", "ports"]
private let portKindKeys = ["tap", "attach", "uplink", "peer"]
private let portKeys =
  portKindKeys + [
    "vlan", "trunk", "native-vlan", "native-tagged", "dot1q-tunnel", "dot1q-tunnel-type", "rate",
    "max-macs", "mac-lock", "ip-guard", "dhcp-guard", "protected", "mtu", "offload",
  ]
private let hostKeys = ["port", "veth", "run", "address", "gateway", "mac"]
private let vmKeys = [
  "port", "ports", "kernel", "initrd", "append", "disk", "memory", "cpus", "mac", "accel",
  "qemu-args", "stop-timeout",
]
private let diskKeys = ["file", "format", "backing"]
private let uplinkKeys = [
  "mode", "interface", "address", "gateway", "inside", "dhcp", "dns", "forward", "max-sessions",
]
private let dhcpKeys = ["range", "lease"]
private let captureKeys = ["ports", "file", "filter", "snaplen", "ring"]
private let ringKeys = ["files", "size"]
private let mirrorKeys = ["from", "to", "filter"]

private let macTableSizes = 1...1_048_576
private let mtus = 68...65535
private let cpuCounts = 1...64
private let snaplens: ClosedRange<UInt64> = 64...262_144
private let minimumVMMemory: UInt64 = 16 << 20
private let sessionCounts = 16...1_048_576

/// The state of one load: the document, the problems so far and what has been read.
private struct Loader {
  let file: String
  let document: YAMLDocument
  var diagnostics: [TopologyDiagnostic] = []

  var labName: String?
  var ports: [PortDraft] = []
  var claims: [PortClaim] = []
  var uplinkPorts: [(entry: Entry, port: PortReference)] = []
  var forwardTargets: [(host: String, location: SourceLocation)] = []
  var portLists: [(reference: PortReference, location: SourceLocation)] = []
  var macs: [(mac: MACAddress, owner: String, location: SourceLocation)] = []
  var hostAddresses: [(address: IPv4Address, host: String, location: SourceLocation)] = []
  /// Each host's port, so addresses are compared only within one switch.
  var hostPorts: [String: PortReference] = [:]
  /// Root-namespace veth ends named by hosts.
  var vethNames: [(name: String, location: SourceLocation)] = []
  /// `mac-lock: true` and `ip-guard: true` entries, which take their value from the port's host.
  var hostBoundSecurity: [(port: PortReference, entry: Entry)] = []

  init(file: String, document: YAMLDocument) {
    self.file = file
    self.document = document
  }

  // MARK: Reporting

  mutating func error(_ message: String, at location: SourceLocation) {
    diagnostics.append(TopologyDiagnostic(location: location, message: message))
  }

  func location(of node: Node) -> SourceLocation {
    SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
  }

  // MARK: Structure

  /// The pairs of a mapping; an empty value counts as an empty mapping.
  mutating func pairs(of node: Node, what: String) -> [(Node, Node)]? {
    switch node {
    case .mapping(let mapping): return mapping.map { ($0.key, $0.value) }
    case _ where node.isNull: return []
    default:
      error("\(what) must be a mapping", at: location(of: node))
      return nil
    }
  }

  /// The pairs of a mapping with fixed keys, reporting unknown and repeated keys.
  mutating func fields(of node: Node, known: [String], context: String, what: String) -> [Entry] {
    uniqueEntries(
      of: node, what: what, notAName: "keys must be names, not lists or mappings",
      duplicate: { key, first in "duplicate key '\(key)' \(context) (first defined at \(first))" },
      refusal: { key in
        guard !known.contains(key) else { return nil }
        let hint = suggestion(for: key, among: known).map { "; did you mean '\($0)'?" } ?? ""
        return "unknown key '\(key)' \(context)\(hint)"
      })
  }

  /// The pairs of a mapping of names (`switches:`, `ports:`, `hosts:`...), reporting bad and
  /// repeated names.
  mutating func named(of node: Node, kind: String, scope: String = "", what: String) -> [Entry] {
    uniqueEntries(
      of: node, what: what, notAName: "\(kind) names must be names, not lists or mappings",
      duplicate: { name, first in "duplicate \(kind) '\(name)'\(scope) (first defined at \(first))"
      },
      refusal: { name in
        isValidName(name)
          ? nil
          : "invalid \(kind) name '\(name)': use letters, digits, '-', '_' and '.', "
            + "starting with a letter or digit"
      })
  }

  /// Walks a mapping's pairs once for `fields` and `named`: keys that are not
  /// scalars, repeated keys and keys `refusal` objects to are reported at the
  /// key; the rest become entries, in file order.
  private mutating func uniqueEntries(
    of node: Node, what: String, notAName: String,
    duplicate: (String, String) -> String, refusal: (String) -> String?
  ) -> [Entry] {
    guard let pairs = pairs(of: node, what: what) else { return [] }
    var seen: [String: SourceLocation] = [:]
    var entries: [Entry] = []
    for (keyNode, value) in pairs {
      let keyLocation = location(of: keyNode)
      guard let key = document.keyText(keyNode) else {
        error(notAName, at: keyLocation)
        continue
      }
      if let first = seen[key] {
        error(duplicate(key, first.short), at: keyLocation)
        continue
      }
      seen[key] = keyLocation
      if let message = refusal(key) {
        error(message, at: keyLocation)
        continue
      }
      entries.append(
        Entry(key: key, keyLocation: keyLocation, value: value, valueLocation: location(of: value)))
    }
    return entries
  }

  /// The text of a single-valued entry; reports lists, mappings and missing values.
  mutating func text(_ entry: Entry) -> String? {
    guard case .scalar(let scalar) = entry.value else {
      error("'\(entry.key)' must be a single value", at: entry.valueLocation)
      return nil
    }
    if entry.value.isNull {
      error("missing value for '\(entry.key)'", at: entry.keyLocation)
      return nil
    }
    return scalar.string
  }

  /// The items of a list entry; reports anything else.
  mutating func items(_ entry: Entry, of what: String) -> [Node]? {
    guard case .sequence(let sequence) = entry.value else {
      if entry.value.isNull {
        error("missing value for '\(entry.key)'", at: entry.keyLocation)
      } else {
        error("'\(entry.key)' must be a list of \(what)", at: entry.valueLocation)
      }
      return nil
    }
    return Array(sequence)
  }

  /// Parses an entry's text with `parse`, reporting `invalid KEY 'TEXT': REASON`.
  mutating func value<T>(
    _ entry: Entry, _ parse: (String) throws(ValueFormatError) -> T
  ) -> T? {
    guard let text = text(entry) else { return nil }
    do {
      return try parse(text)
    } catch {
      self.error("invalid \(entry.key) '\(text)': \(error.reason)", at: entry.valueLocation)
      return nil
    }
  }

  mutating func integer(_ entry: Entry, in range: ClosedRange<Int>) -> Int? {
    value(entry) { text throws(ValueFormatError) in
      guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int(text),
        range.contains(number)
      else {
        throw ValueFormatError(
          "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
      }
      return number
    }
  }

  mutating func bool(_ entry: Entry) -> Bool? {
    value(entry) { text throws(ValueFormatError) in
      switch text.lowercased() {
      case "true": return true
      case "false": return false
      default: throw ValueFormatError("expected true or false")
      }
    }
  }

  /// `mac-lock`: true, false, or the MAC to lock the port to.
  static func macLock(_ text: String) throws(ValueFormatError) -> (isOn: Bool, mac: MACAddress?) {
    switch text.lowercased() {
    case "true": return (true, nil)
    case "false": return (false, nil)
    default:
      guard let mac = MACAddress(text), !mac.isMulticast, !mac.isZero else {
        throw ValueFormatError("expected true, false or a unicast MAC like 02:00:00:00:10:11")
      }
      return (true, mac)
    }
  }

  /// `ip-guard`: true, false, or the one IPv4 address the port may send from.
  static func ipGuard(_ text: String) throws(ValueFormatError) -> (
    isOn: Bool, address: IPv4Address?
  ) {
    switch text.lowercased() {
    case "true": return (true, nil)
    case "false": return (false, nil)
    default:
      guard let address = IPv4Address(text) else {
        throw ValueFormatError("expected true, false or an address like 10.0.0.1")
      }
      return (true, address)
    }
  }

  mutating func interface(_ entry: Entry) -> String? {
    guard let text = text(entry) else { return nil }
    do {
      return try ValueFormat.interfaceName(text)
    } catch {
      self.error("interface name '\(text)' \(error.reason)", at: entry.valueLocation)
      return nil
    }
  }

  mutating func portReference(_ node: Node, key: String) -> PortReference? {
    guard case .scalar(let scalar) = node, !node.isNull else {
      error("'\(key)' must name ports as SWITCH/PORT", at: location(of: node))
      return nil
    }
    guard let reference = PortReference(scalar.string) else {
      error("invalid \(key) '\(scalar.string)': expected SWITCH/PORT", at: location(of: node))
      return nil
    }
    return reference
  }

  /// A non-empty list of `SWITCH/PORT`; `checked` queues each for the existence check (VM ports
  /// get theirs from the claim check instead, so a missing port is reported once).
  mutating func portList(_ entry: Entry, checked: Bool) -> [PortReference]? {
    guard let nodes = items(entry, of: "ports") else { return nil }
    if nodes.isEmpty {
      error("'\(entry.key)' needs at least one port", at: entry.valueLocation)
      return nil
    }
    var references: [PortReference] = []
    for node in nodes {
      if let reference = portReference(node, key: entry.key) {
        if checked { portLists.append((reference, location(of: node))) }
        references.append(reference)
      }
    }
    return references.count == nodes.count ? references : nil
  }

  mutating func mac(_ entry: Entry, owner: String) -> MACAddress? {
    let parsed = value(entry) { text throws(ValueFormatError) in
      guard let mac = MACAddress(text) else {
        throw ValueFormatError("expected six hex bytes like 02:00:00:00:10:11")
      }
      if mac.isMulticast { throw ValueFormatError("a multicast address cannot be a NIC's address") }
      if mac.isZero { throw ValueFormatError("the all-zero address cannot be a NIC's address") }
      return mac
    }
    if let parsed { macs.append((parsed, owner, entry.valueLocation)) }
    return parsed
  }

  mutating func assignment(_ entry: Entry) -> AddressAssignment? {
    value(entry) { text throws(ValueFormatError) in
      if text == "dhcp" { return .dhcp }
      guard let cidr = IPv4CIDR(text) else { throw ValueFormatError("expected A.B.C.D/N or dhcp") }
      try checkHostAddress(cidr)
      return .fixed(cidr)
    }
  }

  mutating func cidr(_ entry: Entry) -> IPv4CIDR? {
    value(entry) { text throws(ValueFormatError) in
      guard let cidr = IPv4CIDR(text) else { throw ValueFormatError("expected A.B.C.D/N") }
      try checkHostAddress(cidr)
      return cidr
    }
  }

  mutating func address(_ entry: Entry) -> IPv4Address? {
    value(entry) { text throws(ValueFormatError) in
      guard let address = IPv4Address(text) else { throw ValueFormatError("expected A.B.C.D") }
      return address
    }
  }

  /// Reports `first` when `second` is also present, for keys that exclude each other.
  mutating func exclusive(_ keys: [String], in entries: [Entry], context: String, hint: String = "")
  {
    var first: Entry?
    for entry in entries where keys.contains(entry.key) {
      if let first {
        error(
          "'\(entry.key)' conflicts with '\(first.key)' \(context)\(hint)", at: entry.keyLocation)
      } else {
        first = entry
      }
    }
  }

  /// Reports `key` when it is present without `needed`.
  mutating func requires(_ key: String, _ needed: String, in entries: [Entry], context: String) {
    if let entry = entries.first(where: { $0.key == key }),
      !entries.contains(where: { $0.key == needed })
    {
      error("'\(key)' needs '\(needed)' \(context)", at: entry.keyLocation)
    }
  }

  mutating func requireKey(
    _ key: String, in entries: [Entry], context: String, at location: SourceLocation
  ) {
    if !entries.contains(where: { $0.key == key }) {
      error("missing required key '\(key)' \(context)", at: location)
    }
  }

  // MARK: Top level

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
      of: root, known: topLevelKeys, context: "at the top level", what: "the topology")
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
    var logCap = Topology.defaultLogCap
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
        if let duration = value(entry, ValueFormat.duration) {
          if duration <= Topology.maximumBusyPoll {
            busyPoll = duration
          } else {
            error(
              "invalid busy-poll '\(text(entry) ?? "")': at most 1s (0s turns polling off)",
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
      default:
        break
      }
    }

    checkInterfaces()
    checkPeers()
    checkUplinkPorts(uplinks)
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
      logCap: logCap)
  }

  mutating func readLabName(_ entry: Entry) -> String? {
    guard let name = text(entry) else { return nil }
    if let problem = LabNameRule.problem(with: name) {
      error(problem, at: entry.valueLocation)
      return nil
    }
    return name
  }

  // MARK: Switches and ports

  mutating func readSwitch(_ item: Entry) -> SwitchSpec {
    let context = "in switch '\(item.key)'"
    var spec = SwitchSpec(name: item.key, ports: [], location: item.keyLocation)
    for entry in fields(
      of: item.value, known: switchKeys, context: context, what: "switch '\(item.key)'")
    {
      switch entry.key {
      case "mac-aging":
        if let aging = value(entry, ValueFormat.duration) {
          if aging > .zero {
            spec.macAging = aging
          } else {
            error(
              "invalid mac-aging '\(text(entry) ?? "")': must be greater than zero",
              at: entry.valueLocation)
          }
        }
      case "mac-table-size":
        if let size = integer(entry, in: macTableSizes) { spec.macTableSize = size }
      case "ports":
        let portEntries = named(
          of: entry.value, kind: "port", scope: " in switch '\(item.key)'",
          what: "'ports' of switch '\(item.key)'")
        for portEntry in portEntries {
          let draft = readPort(portEntry, switchName: item.key)
          ports.append(draft)
          spec.ports.append(draft.spec)
        }
      default:
        break
      }
    }
    return spec
  }

  mutating func readPort(_ item: Entry, switchName: String) -> PortDraft {
    let reference = PortReference(switchName: switchName, portName: item.key)
    let context = "in port '\(reference)'"
    let entries = fields(
      of: item.value, known: portKeys, context: context, what: "port '\(reference)'")
    var spec = PortSpec(
      name: item.key, switchName: switchName,
      kind: .tap(interface: "\(labName ?? "")-\(item.key)"), location: item.keyLocation)
    var draft = PortDraft(spec: spec, kindEntry: nil)
    var access: UInt16?
    var trunk: VLANSet?
    var native: (vlan: UInt16, location: SourceLocation)?
    var nativeTagged = false
    var tunnel: UInt16?
    var tunnelType = EtherType.serviceVLAN
    var offload: Entry?

    for entry in entries {
      switch entry.key {
      case "tap", "attach":
        if draft.kindEntry == nil, let name = interface(entry) {
          spec.kind = entry.key == "tap" ? .tap(interface: name) : .attach(interface: name)
          draft.kindEntry = entry
        }
      case "uplink":
        if draft.kindEntry == nil, let name = text(entry) {
          spec.kind = .uplink(name: name)
          draft.kindEntry = entry
          uplinkPorts.append((entry, reference))
        }
      case "peer":
        if draft.kindEntry == nil,
          let peer = value(
            entry,
            { text throws(ValueFormatError) in
              guard let peer = PortReference(text) else {
                throw ValueFormatError("expected SWITCH/PORT")
              }
              return peer
            })
        {
          spec.kind = .peer(peer)
          draft.kindEntry = entry
        }
      case "vlan":
        access = value(entry, ValueFormat.vlanID)
      case "trunk":
        trunk = readTrunk(entry)
      case "native-vlan":
        if let vlan = value(entry, ValueFormat.vlanID) { native = (vlan, entry.valueLocation) }
      case "native-tagged":
        nativeTagged = bool(entry) ?? false
      case "dot1q-tunnel":
        tunnel = value(entry, ValueFormat.vlanID)
      case "dot1q-tunnel-type":
        tunnelType =
          value(entry) { text throws(ValueFormatError) in
            switch text.lowercased() {
            case "0x88a8": return EtherType.serviceVLAN
            case "0x8100": return EtherType.vlan
            default: throw ValueFormatError("use 0x88a8 or 0x8100")
            }
          } ?? tunnelType
      case "rate":
        spec.rate = readRate(entry, port: reference)
      case "max-macs":
        spec.security.maxMACs = integer(entry, in: macTableSizes)
      case "mac-lock":
        if let lock = value(entry, Self.macLock) {
          spec.security.macLock = lock.isOn
          spec.security.lockedMAC = lock.mac
          if lock.isOn && lock.mac == nil { hostBoundSecurity.append((reference, entry)) }
        }
      case "ip-guard":
        if let guarding = value(entry, Self.ipGuard) {
          spec.security.ipGuard = guarding.isOn
          spec.security.guardedAddress = guarding.address
          if guarding.isOn && guarding.address == nil {
            hostBoundSecurity.append((reference, entry))
          }
        }
      case "dhcp-guard":
        spec.security.dhcpGuard = bool(entry) ?? false
      case "protected":
        spec.security.isProtected = bool(entry) ?? false
      case "mtu":
        if let mtu = integer(entry, in: mtus) { spec.mtu = mtu }
      case "offload":
        if let isOn = bool(entry) {
          spec.acceptsOffloads = isOn
          offload = entry
        }
      default:
        break
      }
    }

    // A port that names more than one kind was refused above by keeping the first; say so here.
    draft.kindIsInvalid =
      draft.kindEntry == nil && entries.contains { portKindKeys.contains($0.key) }
    exclusive(
      portKindKeys, in: entries, context: context,
      hint: "; a port is one of tap, attach, uplink or peer")
    exclusive(["vlan", "trunk", "dot1q-tunnel"], in: entries, context: context)
    requires("native-vlan", "trunk", in: entries, context: context)
    requires("native-tagged", "trunk", in: entries, context: context)
    if entries.contains(where: { $0.key == "trunk" }) {
      requires("native-tagged", "native-vlan", in: entries, context: context)
    }
    requires("dot1q-tunnel-type", "dot1q-tunnel", in: entries, context: context)
    if let native, let trunk, !trunk.contains(native.vlan) {
      error("native-vlan \(native.vlan) is not one of the trunk's VLANs", at: native.location)
    }
    // Segmenting needs an interface to write segments to: a patch cable carries
    // superframes to a switch of the lab, and an uplink's far side is the NAT or NIC.
    if let offload {
      switch spec.kind {
      case .peer, .uplink:
        let kind = if case .peer = spec.kind { "a peer port" } else { "an uplink port" }
        error(
          "'offload' applies to ports with an interface (tap, attach, a host's or vm's port); port '\(reference)' is \(kind)",
          at: offload.valueLocation)
      case .tap, .attach:
        break
      }
    }

    if let trunk {
      spec.vlanMode = .trunk(allowed: trunk, native: native?.vlan, nativeTagged: nativeTagged)
    } else if let tunnel {
      spec.vlanMode = .dot1qTunnel(serviceVLAN: tunnel, tagType: tunnelType)
    } else if let access {
      spec.vlanMode = .access(vlan: access)
    }
    draft.spec = spec
    return draft
  }

  mutating func readTrunk(_ entry: Entry) -> VLANSet? {
    if case .scalar(let scalar) = entry.value, !entry.value.isNull {
      guard scalar.string == "all" else {
        error(
          "invalid trunk '\(scalar.string)': expected a list of VLAN ids or 'all'",
          at: entry.valueLocation)
        return nil
      }
      return .all
    }
    guard let nodes = items(entry, of: "VLAN ids or 'all'") else { return nil }
    guard !nodes.isEmpty else {
      error("'trunk' needs at least one VLAN; use 'all' for every VLAN", at: entry.valueLocation)
      return nil
    }
    var vlans = Set<UInt16>()
    var valid = true
    for node in nodes {
      let item = Entry(
        key: "trunk", keyLocation: entry.keyLocation, value: node, valueLocation: location(of: node)
      )
      guard let range = value(item, vlanRange) else {
        valid = false
        continue
      }
      vlans.formUnion(range)
    }
    return valid ? .only(vlans.sorted()) : nil
  }

  mutating func readRate(_ item: Entry, port: PortReference) -> RateLimitSpec? {
    let context = "in rate of port '\(port)'"
    let entries = fields(
      of: item.value, known: RateLimitSpec.keys, context: context, what: "'rate'")
    guard item.value.mapping != nil || item.value.isNull else { return nil }
    var spec = RateLimitSpec()
    for entry in entries {
      switch entry.key {
      case "ingress":
        spec.ingress = value(entry) { text throws(ValueFormatError) in
          try RateLimitSpec.bitRate(text, key: entry.key)
        }
      case "egress":
        spec.egress = value(entry) { text throws(ValueFormatError) in
          try RateLimitSpec.bitRate(text, key: entry.key)
        }
      case "ingress-pps": spec.ingressPPS = value(entry, RateLimitSpec.packetRate)
      case "egress-pps": spec.egressPPS = value(entry, RateLimitSpec.packetRate)
      case "burst": spec.burst = value(entry, RateLimitSpec.burstSize)
      default: break
      }
    }
    if !entries.contains(where: {
      ["ingress", "egress", "ingress-pps", "egress-pps"].contains($0.key)
    }) {
      error(
        "'rate' of port '\(port)' sets no limit; use ingress, egress, ingress-pps or egress-pps",
        at: item.keyLocation)
    }
    return spec
  }

  /// The entries of one named section (`hosts.h1`, `uplinks.net`, ...): unknown
  /// and repeated keys and missing `required` keys are reported; nil when the
  /// value is not a mapping (reported too: its missing keys would only be noise).
  mutating func section(_ item: Entry, kind: String, known: [String], required: [String])
    -> [Entry]?
  {
    let context = "in \(kind) '\(item.key)'"
    let entries = fields(
      of: item.value, known: known, context: context, what: "\(kind) '\(item.key)'")
    guard item.value.isMappingOrNull else { return nil }
    for key in required { requireKey(key, in: entries, context: context, at: item.keyLocation) }
    return entries
  }

  // MARK: Hosts and VMs

  mutating func readHost(_ item: Entry) -> HostSpec? {
    let context = "in host '\(item.key)'"
    guard let entries = section(item, kind: "host", known: hostKeys, required: []) else {
      return nil
    }
    exclusive(["port", "veth"], in: entries, context: context)
    if !entries.contains(where: { $0.key == "port" || $0.key == "veth" }) {
      error("missing required key 'port' or 'veth' \(context)", at: item.keyLocation)
    }
    var port: PortReference?
    var veth: String?
    var run: String?
    var address: (AddressAssignment, Entry)?
    var gateway: (IPv4Address, Entry)?
    var mac: MACAddress?
    for entry in entries {
      switch entry.key {
      case "port":
        if let node = singleValue(entry), let reference = portReference(node, key: "port") {
          port = reference
          hostPorts[item.key] = reference
          claims.append(
            PortClaim(port: reference, owner: "host '\(item.key)'", location: entry.valueLocation))
        }
      case "veth":
        veth = interface(entry)
        if let veth { vethNames.append((veth, entry.valueLocation)) }
      case "run":
        run = text(entry)
      case "address":
        if let assignment = assignment(entry) {
          address = (assignment, entry)
          if case .fixed(let cidr) = assignment {
            hostAddresses.append((cidr.address, item.key, entry.valueLocation))
          }
        }
      case "gateway":
        if let parsed = self.address(entry) { gateway = (parsed, entry) }
      case "mac":
        mac = self.mac(entry, owner: "host '\(item.key)'")
      default:
        break
      }
    }
    checkGateway(gateway, address: address?.0)
    if case .dhcp = address?.0, veth != nil, let entry = address?.1 {
      error(
        "a veth host needs a fixed address: no lab DHCP server serves it", at: entry.valueLocation)
    }
    guard port != nil || veth != nil else { return nil }
    return HostSpec(
      name: item.key, port: port, veth: veth, run: run, address: address?.0,
      gateway: gateway?.0, mac: mac, location: item.keyLocation)
  }

  /// An entry's value if it is a non-empty scalar, reporting otherwise.
  mutating func singleValue(_ entry: Entry) -> Node? {
    text(entry) == nil ? nil : entry.value
  }

  mutating func checkGateway(_ gateway: (IPv4Address, Entry)?, address: AddressAssignment?) {
    guard let (gateway, entry) = gateway else { return }
    switch address {
    case .dhcp:
      error("'gateway' needs a fixed address; dhcp provides the gateway", at: entry.keyLocation)
    case .fixed(let cidr):
      if !cidr.contains(gateway) {
        error("gateway \(gateway) is not inside \(cidr)", at: entry.valueLocation)
      } else if gateway == cidr.address {
        error("gateway \(gateway) is this machine's own address", at: entry.valueLocation)
      }
    case nil:
      error("'gateway' needs 'address'", at: entry.keyLocation)
    }
  }

  mutating func readVM(_ item: Entry) -> VMSpec? {
    let context = "in vm '\(item.key)'"
    guard let entries = section(item, kind: "vm", known: vmKeys, required: []) else {
      return nil
    }
    exclusive(["port", "ports"], in: entries, context: context)
    if !entries.contains(where: { $0.key == "port" || $0.key == "ports" }) {
      error("missing required key 'port' or 'ports' \(context)", at: item.keyLocation)
    }
    if !entries.contains(where: { $0.key == "kernel" || $0.key == "disk" }) {
      error("missing required key 'kernel' or 'disk' \(context)", at: item.keyLocation)
    }
    requires("initrd", "kernel", in: entries, context: context)
    requires("append", "kernel", in: entries, context: context)
    var spec = VMSpec(name: item.key, ports: [], location: item.keyLocation)
    var portsRead = false
    for entry in entries {
      switch entry.key {
      case "port":
        if !portsRead, let node = singleValue(entry),
          let reference = portReference(node, key: "port")
        {
          spec.ports = [reference]
          portsRead = true
        }
      case "ports":
        if !portsRead, let references = portList(entry, checked: false) {
          spec.ports = references
          portsRead = true
        }
      case "kernel": spec.kernel = text(entry)
      case "initrd": spec.initrd = text(entry)
      case "append": spec.append = text(entry)
      case "disk":
        readDisk(entry, into: &spec)
        continue
      case "memory":
        if let memory = value(entry, ValueFormat.size) {
          if memory >= minimumVMMemory, let bytes = Int(exactly: memory) {
            spec.memory = bytes
          } else {
            error(
              "invalid memory '\(text(entry) ?? "")': must be at least 16MiB",
              at: entry.valueLocation)
          }
        }
      case "cpus":
        if let cpus = integer(entry, in: cpuCounts) { spec.cpus = cpus }
      case "mac":
        spec.mac = mac(entry, owner: "vm '\(item.key)'")
      case "accel":
        spec.accel = value(entry) { text throws(ValueFormatError) in
          guard text == "kvm" || text == "tcg" else { throw ValueFormatError("use kvm or tcg") }
          return text
        }
      case "qemu-args":
        spec.qemuArgs = readStrings(entry) ?? []
      case "stop-timeout":
        if let timeout = value(entry, ValueFormat.duration) { spec.stopTimeout = timeout }
      default:
        break
      }
      spec.valueLocations[entry.key] = entry.valueLocation
    }
    if portsRead {
      // Claims come from the list entries' own locations so repeats point at the repeat.
      let portEntry = entries.first { $0.key == "port" || $0.key == "ports" }!
      if case .sequence(let sequence) = portEntry.value {
        for (reference, node) in zip(spec.ports, sequence) {
          claims.append(
            PortClaim(port: reference, owner: "vm '\(item.key)'", location: location(of: node)))
        }
      } else if let reference = spec.ports.first {
        claims.append(
          PortClaim(port: reference, owner: "vm '\(item.key)'", location: portEntry.valueLocation))
      }
    }
    return portsRead ? spec : nil
  }

  /// `disk: PATH`, or `disk: {file: PATH, format: raw|qcow2, backing: PATH}`.
  mutating func readDisk(_ entry: Entry, into spec: inout VMSpec) {
    guard entry.value.mapping != nil else {
      spec.disk = text(entry)
      spec.valueLocations["disk"] = entry.valueLocation
      return
    }
    let context = "in disk of vm '\(spec.name)'"
    let entries = fields(of: entry.value, known: diskKeys, context: context, what: "'disk'")
    requireKey("file", in: entries, context: context, at: entry.keyLocation)
    for field in entries {
      switch field.key {
      case "file":
        spec.disk = text(field)
        spec.valueLocations["disk"] = field.valueLocation
      case "format":
        spec.declaredDiskFormat = value(field) { text throws(ValueFormatError) in
          guard let format = DiskFormat(rawValue: text) else {
            throw ValueFormatError("use raw or qcow2")
          }
          return format
        }
        spec.valueLocations["format"] = field.valueLocation
      case "backing":
        spec.backing = text(field)
        spec.valueLocations["backing"] = field.valueLocation
      default: break
      }
    }
    if spec.backing != nil, spec.diskFormat == .raw,
      let field = entries.first(where: { $0.key == "backing" })
    {
      error("'backing' needs a qcow2 disk (a raw image has no backing file)", at: field.keyLocation)
    }
  }

  mutating func readStrings(_ entry: Entry) -> [String]? {
    guard let nodes = items(entry, of: "strings") else { return nil }
    var strings: [String] = []
    for node in nodes {
      guard case .scalar(let scalar) = node else {
        error("'\(entry.key)' must be a list of strings", at: location(of: node))
        return nil
      }
      strings.append(scalar.string)
    }
    return strings
  }

  // MARK: Uplinks

  mutating func readUplink(_ item: Entry) -> UplinkSpec? {
    let context = "in uplink '\(item.key)'"
    guard let entries = section(item, kind: "uplink", known: uplinkKeys, required: ["mode"]) else {
      return nil
    }
    var mode: UplinkSpec.Mode?
    if let entry = entries.first(where: { $0.key == "mode" }) {
      mode = value(entry) { text throws(ValueFormatError) in
        guard let mode = UplinkSpec.Mode(rawValue: text) else {
          throw ValueFormatError("use nat, bridge or host-only")
        }
        return mode
      }
    }
    var spec = UplinkSpec(name: item.key, mode: mode ?? .nat, location: item.keyLocation)
    var address: AddressAssignment?
    var gateway: (IPv4Address, Entry)?
    var forwardEntry: Entry?
    var dhcpEntry: Entry?
    for entry in entries {
      switch entry.key {
      case "interface": spec.interface = interface(entry)
      case "address":
        address = assignment(entry)
        spec.address = address
      case "gateway":
        if let parsed = self.address(entry) { gateway = (parsed, entry) }
      case "inside": spec.inside = cidr(entry)
      case "dhcp": dhcpEntry = entry
      case "dns":
        spec.dns = value(entry) { text throws(ValueFormatError) in
          if text == "relay" { return DNSSpec.relay }
          guard let server = IPv4Address(text) else {
            throw ValueFormatError("expected relay or an IPv4 address")
          }
          return .server(server)
        }
      case "forward": forwardEntry = entry
      case "max-sessions":
        if let count = integer(entry, in: sessionCounts) { spec.maxSessions = count }
      default: break
      }
    }
    spec.gateway = gateway?.0
    if mode != .bridge { checkGateway(gateway, address: address) }
    // dhcp and forward read after `inside`, whatever the key order, to check against it.
    if let dhcpEntry { spec.dhcp = readDHCP(dhcpEntry, uplink: item.key, inside: spec.inside) }
    if let forwardEntry { spec.forwards = readForwards(forwardEntry, inside: spec.inside) }

    guard let mode else { return nil }
    let required: [String]
    let refused: [String]
    switch mode {
    case .nat:
      (required, refused) = (["interface", "inside", "address"], [])
    case .bridge:
      (required, refused) = (
        ["interface"],
        ["address", "gateway", "inside", "dhcp", "dns", "forward", "max-sessions"]
      )
    case .hostOnly:
      (required, refused) = (
        ["inside"], ["interface", "address", "gateway", "dhcp", "dns", "forward", "max-sessions"]
      )
    }
    for key in required where !entries.contains(where: { $0.key == key }) {
      error(
        "missing required key '\(key)' \(context) (mode \(mode.rawValue))", at: item.keyLocation)
    }
    for entry in entries where refused.contains(entry.key) {
      error("'\(entry.key)' does not apply to a \(mode.rawValue) uplink", at: entry.keyLocation)
    }
    return spec
  }

  mutating func readDHCP(_ item: Entry, uplink: String, inside: IPv4CIDR?) -> DHCPSpec? {
    let context = "in dhcp of uplink '\(uplink)'"
    let entries = fields(of: item.value, known: dhcpKeys, context: context, what: "'dhcp'")
    guard item.value.mapping != nil || item.value.isNull else { return nil }
    requireKey("range", in: entries, context: context, at: item.keyLocation)
    var range: (IPv4Address, IPv4Address)?
    var lease = Duration.seconds(3600)
    for entry in entries {
      switch entry.key {
      case "range":
        range = value(entry) { text throws(ValueFormatError) in
          let parts = text.split(separator: "-", omittingEmptySubsequences: false)
          guard parts.count == 2,
            let first = IPv4Address(parts[0].trimmingSpaces),
            let last = IPv4Address(parts[1].trimmingSpaces)
          else {
            throw ValueFormatError("expected FIRST-LAST like 10.0.10.100-10.0.10.199")
          }
          guard first <= last else { throw ValueFormatError("the first address is after the last") }
          return (first, last)
        }
        if let (first, last) = range, let inside {
          let text = "\(first)-\(last)"
          if !inside.contains(first) || !inside.contains(last) {
            error("dhcp range \(text) is not inside \(inside)", at: entry.valueLocation)
          } else if (first...last).contains(inside.address) {
            error(
              "dhcp range \(text) includes the uplink's own address \(inside.address)",
              at: entry.valueLocation)
          } else if inside.prefixLength <= 30,
            (first...last).contains(inside.network) || (first...last).contains(inside.broadcast)
          {
            error(
              "dhcp range \(text) includes the network or broadcast address of \(inside)",
              at: entry.valueLocation)
          }
        }
      case "lease":
        if let parsed = value(entry, ValueFormat.duration) {
          if parsed > .zero {
            lease = parsed
          } else {
            error(
              "invalid lease '\(text(entry) ?? "")': must be greater than zero",
              at: entry.valueLocation)
          }
        }
      default:
        break
      }
    }
    guard let (first, last) = range else { return nil }
    return DHCPSpec(rangeStart: first, rangeEnd: last, lease: lease)
  }

  mutating func readForwards(_ entry: Entry, inside: IPv4CIDR?) -> [ForwardSpec] {
    guard let nodes = items(entry, of: "strings like 'tcp 8080 -> h1:80'") else { return [] }
    var forwards: [ForwardSpec] = []
    var outside: [String: SourceLocation] = [:]
    for node in nodes {
      let item = Entry(
        key: "forward", keyLocation: entry.keyLocation, value: node,
        valueLocation: location(of: node))
      guard let forward = value(item, parseForward) else { continue }
      let key = "\(forward.transport.rawValue) \(forward.outsidePort)"
      if let first = outside[key] {
        error("\(key) is already forwarded (first at \(first.short))", at: item.valueLocation)
        continue
      }
      outside[key] = item.valueLocation
      switch forward.target {
      case .host(let host):
        forwardTargets.append((host, item.valueLocation))
      case .address(let address):
        if let inside, !inside.contains(address) {
          error("forward target \(address) is not inside \(inside)", at: item.valueLocation)
        }
      }
      forwards.append(forward)
    }
    return forwards
  }

  // MARK: Captures and mirrors

  mutating func readCapture(_ item: Entry) -> CaptureSpec? {
    guard
      let entries = section(item, kind: "capture", known: captureKeys, required: ["ports", "file"])
    else {
      return nil
    }
    var ports: [PortReference]?
    var file: String?
    var spec = CaptureSpec(name: item.key, ports: [], file: "", location: item.keyLocation)
    for entry in entries {
      switch entry.key {
      case "ports": ports = portList(entry, checked: true)
      case "file": file = text(entry)
      case "filter":
        spec.filter = text(entry)
        spec.filterLocation = entry.valueLocation
      case "snaplen":
        if let snaplen = value(entry, ValueFormat.size) {
          if snaplens.contains(snaplen) {
            spec.snaplen = Int(snaplen)
          } else {
            error(
              "invalid snaplen '\(text(entry) ?? "")': must be from \(snaplens.lowerBound) to "
                + "\(snaplens.upperBound) bytes", at: entry.valueLocation)
          }
        }
      case "ring": spec.ring = readRing(entry, capture: item.key)
      default: break
      }
    }
    guard let ports, let file else { return nil }
    spec.ports = ports
    spec.file = file
    return spec
  }

  mutating func readRing(_ item: Entry, capture: String) -> (files: Int, size: Int)? {
    let context = "in ring of capture '\(capture)'"
    let entries = fields(of: item.value, known: ringKeys, context: context, what: "'ring'")
    guard item.value.mapping != nil || item.value.isNull else { return nil }
    requireKey("files", in: entries, context: context, at: item.keyLocation)
    requireKey("size", in: entries, context: context, at: item.keyLocation)
    var files: Int?
    var size: Int?
    for entry in entries {
      switch entry.key {
      case "files": files = integer(entry, in: 2...1_000_000)
      case "size":
        if let bytes = value(entry, ValueFormat.size) {
          if bytes > 0, let exact = Int(exactly: bytes) {
            size = exact
          } else {
            error(
              "invalid size '\(text(entry) ?? "")': must be greater than zero",
              at: entry.valueLocation)
          }
        }
      default: break
      }
    }
    guard let files, let size else { return nil }
    return (files, size)
  }

  mutating func readMirror(_ item: Entry) -> MirrorSpec? {
    guard let entries = section(item, kind: "mirror", known: mirrorKeys, required: ["from", "to"])
    else {
      return nil
    }
    var from: [PortReference]?
    var to: (PortReference, Entry)?
    var filter: String?
    var filterLocation: SourceLocation?
    for entry in entries {
      switch entry.key {
      case "from": from = portList(entry, checked: true)
      case "to":
        if let node = singleValue(entry), let reference = portReference(node, key: "to") {
          to = (reference, entry)
          portLists.append((reference, entry.valueLocation))
        }
      case "filter":
        filter = text(entry)
        filterLocation = entry.valueLocation
      default: break
      }
    }
    if let (reference, entry) = to, let from, from.contains(reference) {
      error(
        "mirror '\(item.key)' copies to port '\(reference)', which is also in 'from'",
        at: entry.valueLocation)
    }
    guard let from, let to else { return nil }
    var mirror = MirrorSpec(
      name: item.key, from: from, to: to.0, filter: filter, location: item.keyLocation)
    mirror.filterLocation = filterLocation
    mirror.toLocation = to.1.valueLocation
    return mirror
  }

  /// A monitor port must be one that frames can be written to (a TAP or an
  /// attached interface), and never a mirror's source: copies of copies would loop.
  mutating func checkMirrors(_ mirrors: [MirrorSpec]) {
    let monitors = Set(mirrors.map(\.to))
    for mirror in mirrors {
      let location = mirror.toLocation ?? mirror.location
      if let draft = draft(mirror.to) {
        switch draft.spec.kind {
        case .tap, .attach: break
        case .peer:
          error(
            "mirror '\(mirror.name)' cannot copy to '\(mirror.to)', a patch cable: use a tap or attach port",
            at: location)
        case .uplink:
          error(
            "mirror '\(mirror.name)' cannot copy to '\(mirror.to)', an uplink port: use a tap or attach port",
            at: location)
        }
      }
      // A mirror copying to one of its own sources is reported where `to` is read.
      for source in mirror.from where monitors.contains(source) && source != mirror.to {
        error(
          "mirror '\(mirror.name)' copies from '\(source)', which is a mirror's monitor port",
          at: mirror.location)
      }
    }
  }

  // MARK: Cross-checks

  func draft(_ reference: PortReference) -> PortDraft? {
    ports.first { $0.spec.reference == reference }
  }

  /// Every interface the lab creates or attaches to must fit the kernel's limit and be unique.
  mutating func checkInterfaces() {
    var users: [String: PortDraft] = [:]
    for draft in ports where !draft.kindIsInvalid {
      let name: String
      let location: SourceLocation
      let isDefault = draft.kindEntry == nil
      switch draft.spec.kind {
      case .tap(let interface), .attach(let interface):
        name = interface
        location = draft.kindEntry?.valueLocation ?? draft.spec.location
      default:
        continue
      }
      if isDefault {
        guard labName != nil else { continue }
        do {
          _ = try ValueFormat.interfaceName(name)
        } catch {
          self.error(
            "interface name '\(name)' \(error.reason); set tap: to a shorter name", at: location)
          continue
        }
      }
      if let first = users[name] {
        let hint = isDefault ? "; set tap: to another name" : ""
        error(
          "interface name '\(name)' is already used by port '\(first.spec.reference)' "
            + "(\(first.spec.location.short))\(hint)", at: location)
        continue
      }
      users[name] = draft
    }
  }

  /// A peer is a cable: both ends must exist on different switches and name each other.
  mutating func checkPeers() {
    for draft in ports {
      guard case .peer(let peer) = draft.spec.kind, let entry = draft.kindEntry else { continue }
      let reference = draft.spec.reference
      if peer == reference {
        error("port '\(reference)' cannot be its own peer", at: entry.valueLocation)
      } else if peer.switchName == reference.switchName {
        error(
          "peer '\(peer)' is on the same switch; a peer must be a port of another switch",
          at: entry.valueLocation)
      } else if let other = self.draft(peer) {
        if case .peer(let back) = other.spec.kind, back == reference { continue }
        error(
          "peer '\(peer)' does not point back: set 'peer: \(reference)' on port '\(peer)'",
          at: entry.valueLocation)
      } else {
        error("port '\(peer)' does not exist", at: entry.valueLocation)
      }
    }
    checkPeerLoops()
  }

  /// Patch cables must not close a loop between switches: there is no spanning
  /// tree, so a loop would circulate every broadcast for ever.
  mutating func checkPeerLoops() {
    var parent: [String: String] = [:]
    func root(_ name: String) -> String {
      var current = name
      while let next = parent[current], next != current { current = next }
      return current
    }
    var seen: Set<PortReference> = []
    for draft in ports {
      guard case .peer(let peer) = draft.spec.kind, let entry = draft.kindEntry else { continue }
      let reference = draft.spec.reference
      // Each cable once, at its first end in the file; only cables that point back.
      guard !seen.contains(peer), peer.switchName != reference.switchName,
        case .peer(let back)? = self.draft(peer)?.spec.kind, back == reference
      else {
        seen.insert(reference)
        continue
      }
      seen.insert(reference)
      let (a, b) = (root(reference.switchName), root(peer.switchName))
      if a == b {
        error(
          "peer link \(reference) <-> \(peer) closes a loop between switches "
            + "'\(reference.switchName)' and '\(peer.switchName)'; peer links must form a tree "
            + "(there is no spanning tree protocol)", at: entry.valueLocation)
      } else {
        parent[a] = b
      }
    }
  }

  mutating func checkUplinkPorts(_ uplinks: [UplinkSpec]) {
    var users: [String: PortReference] = [:]
    for (entry, port) in uplinkPorts {
      guard case .uplink(let name) = draft(port)?.spec.kind else { continue }
      if !uplinks.contains(where: { $0.name == name }) {
        error("uplink '\(name)' does not exist", at: entry.valueLocation)
      } else if let first = users[name] {
        error("uplink '\(name)' is already the uplink of port '\(first)'", at: entry.valueLocation)
      } else {
        users[name] = port
        let mode = uplinks.first { $0.name == name }?.mode
        if mode != .bridge, let vlanMode = draft(port)?.spec.vlanMode {
          if case .access = vlanMode {
          } else {
            error(
              "the port of \(mode?.rawValue ?? "") uplink '\(name)' must be an access port (vlan: N)",
              at: entry.valueLocation)
          }
        }
      }
    }
    for uplink in uplinks where users[uplink.name] == nil {
      error(
        "uplink '\(uplink.name)' is not the uplink of any port (add a port with uplink: \(uplink.name))",
        at: uplink.location)
    }
  }

  /// Veth ends live in the root namespace beside the lab's TAPs: names must differ.
  mutating func checkVeths(_ switches: [SwitchSpec]) {
    var taken: [String: String] = [:]
    for switchSpec in switches {
      for port in switchSpec.ports {
        if case .tap(let interface) = port.kind { taken[interface] = "port \(port.reference)" }
      }
    }
    for (name, location) in vethNames {
      if let owner = taken[name] {
        error("interface '\(name)' is already the TAP of \(owner)", at: location)
      } else {
        taken[name] = "a veth host"
      }
    }
  }

  /// A host or VM needs a port that exists, whose TAP the lab owns, and that nobody else uses.
  mutating func checkClaims() {
    var owners: [PortReference: String] = [:]
    for claim in claims.sorted(by: { $0.location < $1.location }) {
      guard let port = draft(claim.port) else {
        error("port '\(claim.port)' does not exist", at: claim.location)
        continue
      }
      let kindName: String
      switch port.spec.kind {
      case .tap: kindName = ""
      case .attach: kindName = "an attach port"
      case .uplink: kindName = "an uplink port"
      case .peer: kindName = "a peer port"
      }
      if !kindName.isEmpty {
        let owner = claim.owner.hasPrefix("host") ? "a host" : "a vm"
        error(
          "port '\(claim.port)' is \(kindName); \(owner) needs a port whose TAP the lab owns",
          at: claim.location)
      } else if let first = owners[claim.port] {
        error("port '\(claim.port)' already serves \(first)", at: claim.location)
      } else {
        owners[claim.port] = claim.owner
      }
    }
  }

  mutating func checkPortLists() {
    for (reference, location) in portLists where draft(reference) == nil {
      error("port '\(reference)' does not exist", at: location)
    }
  }

  mutating func checkMACs() {
    var owners: [MACAddress: String] = [:]
    for (mac, owner, location) in macs.sorted(by: { $0.location < $1.location }) {
      if let first = owners[mac] {
        error("mac \(mac) is already used by \(first)", at: location)
      } else {
        owners[mac] = owner
      }
    }
  }

  /// `mac-lock: true` and `ip-guard: true` take the MAC and address of the
  /// port's host: the port needs one, and `ip-guard` needs its address fixed.
  mutating func checkHostBoundSecurity(_ hosts: [HostSpec]) {
    for (port, entry) in hostBoundSecurity {
      let what = "\(entry.key): true"
      guard let host = hosts.first(where: { $0.port == port }) else {
        let example = entry.key == "mac-lock" ? "02:00:00:00:00:01" : "10.0.0.1"
        error(
          "\(what) needs a host on port '\(port)' to take it from; name it instead (\(entry.key): \(example))",
          at: entry.valueLocation)
        continue
      }
      if entry.key == "ip-guard", case .fixed = host.address {
      } else if entry.key == "ip-guard" {
        error(
          "\(what) needs host '\(host.name)' on port '\(port)' to have a fixed address",
          at: entry.valueLocation)
      }
    }
  }

  /// Two hosts on one switch must not share an address; isolated switches may
  /// reuse a subnet, as separate networks do.
  mutating func checkHostAddresses() {
    var owners: [String: [IPv4Address: String]] = [:]
    for (address, host, location) in hostAddresses {
      let domain = hostPorts[host]?.switchName ?? ""
      if let first = owners[domain]?[address] {
        error("address \(address) is already used by host '\(first)'", at: location)
      } else {
        owners[domain, default: [:]][address] = host
      }
    }
  }
}

// MARK: - Helpers

/// `[A-Za-z0-9_.-]`, starting with a letter or digit: safe in `SWITCH/PORT`, interface and
/// namespace names.
private func isValidName(_ name: String) -> Bool {
  guard let first = name.unicodeScalars.first, first.isASCIIAlphanumeric else { return false }
  return name.unicodeScalars.allSatisfy {
    $0.isASCIIAlphanumeric || "-_.".unicodeScalars.contains($0)
  }
}

/// Refuses the network and broadcast addresses of subnets where they are not usable.
private func checkHostAddress(_ cidr: IPv4CIDR) throws(ValueFormatError) {
  guard cidr.prefixLength <= 30 else { return }
  if cidr.address == cidr.network { throw ValueFormatError("that is the subnet's network address") }
  if cidr.address == cidr.broadcast {
    throw ValueFormatError("that is the subnet's broadcast address")
  }
}

/// `10`, or a range `100-199`, of VLAN ids.
private func vlanRange(_ text: String) throws(ValueFormatError) -> ClosedRange<UInt16> {
  let parts = text.split(separator: "-", omittingEmptySubsequences: false)
  guard parts.count == 2 else {
    let vlan = try ValueFormat.vlanID(text)
    return vlan...vlan
  }
  let first = try ValueFormat.vlanID(String(parts[0]))
  let last = try ValueFormat.vlanID(String(parts[1]))
  guard first <= last else { throw ValueFormatError("the first VLAN is after the last") }
  return first...last
}

/// `tcp 8080 -> h1:80` or `udp 5353 -> 10.0.10.12:53`.
private func parseForward(_ text: String) throws(ValueFormatError) -> ForwardSpec {
  let bad = ValueFormatError("expected 'tcp|udp PORT -> HOST:PORT'")
  let sides = text.split(separator: "->", omittingEmptySubsequences: false)
  guard sides.count == 2 else { throw bad }
  let left = sides[0].split(whereSeparator: \.isWhitespace)
  let right = sides[1].trimmingSpaces
  guard left.count == 2,
    let transport = ForwardSpec.TransportProtocol(rawValue: left[0].lowercased()),
    let colon = right.lastIndex(of: ":")
  else { throw bad }
  let targetText = right[..<colon]
  guard let outsidePort = port(left[1]), let insidePort = port(right[right.index(after: colon)...]),
    !targetText.isEmpty
  else { throw bad }
  let target: ForwardSpec.Target
  if let address = IPv4Address(targetText) {
    target = .address(address)
  } else if isValidName(String(targetText)) {
    target = .host(String(targetText))
  } else {
    throw bad
  }
  return ForwardSpec(
    transport: transport, outsidePort: outsidePort, target: target, insidePort: insidePort)
}

private func port(_ text: some StringProtocol) -> UInt16? {
  guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt16(text),
    value > 0
  else { return nil }
  return value
}

extension SourceLocation {
  /// `LINE:COL`, for "first defined at" notes within the same file.
  fileprivate var short: String { "\(line):\(column)" }
}

extension Node {
  /// True for a mapping or an empty value (which stands for an empty mapping).
  fileprivate var isMappingOrNull: Bool { mapping != nil || isNull }

  /// True for an empty value, `~` or `null`, written plain.
  fileprivate var isNull: Bool {
    guard case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any else {
      return false
    }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
  }
}

extension Unicode.Scalar {
  fileprivate var isASCIIAlphanumeric: Bool {
    ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
  }
}

extension StringProtocol {
  fileprivate var trimmingSpaces: Substring {
    let text = Substring(self)
    let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
    let end = text.lastIndex { !$0.isWhitespace }.map { text.index(after: $0) } ?? start
    return text[start..<end]
  }
}

/// The known key closest to `key` (edit distance at most 2, or a prefix either way).
func suggestion(for key: String, among known: [String]) -> String? {
  var best: (key: String, distance: Int)?
  for candidate in known {
    let distance = editDistance(key, candidate)
    let isPrefix =
      (key.count >= 3 && candidate.hasPrefix(key))
      || (candidate.count >= 3 && key.hasPrefix(candidate))
    guard distance <= 2 || isPrefix else { continue }
    if best == nil || distance < best!.distance { best = (candidate, distance) }
  }
  return best?.key
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in stride(from: 1, through: b.count, by: 1) {
      let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
      current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
    }
    previous = current
  }
  return previous[b.count]
}
