import PatchbayWire
import Yams

// `switches`: each switch's table settings and its ports (kind, VLAN mode, rate, security, MTU).

private let macTableSizes = 1...1_048_576
private let mtus = 68...65535

extension Loader {
  mutating func readSwitch(_ item: Entry) -> SwitchSpec {
    let context = "in switch '\(item.key)'"
    var spec = SwitchSpec(name: item.key, ports: [], location: item.keyLocation)
    for entry in fields(
      of: item.value, known: TopologyKeys.switch, context: context, what: "switch '\(item.key)'"
    ) {
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
      of: item.value, known: TopologyKeys.port, context: context, what: "port '\(reference)'")
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
      draft.kindEntry == nil && entries.contains { TopologyKeys.portKinds.contains($0.key) }
    exclusive(
      TopologyKeys.portKinds, in: entries, context: context,
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
      of: item.value, known: TopologyKeys.rate, context: context, what: "'rate'")
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
