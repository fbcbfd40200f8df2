import PatchbayCore
import PatchbayWire
import Yams

// Checks across sections, run once everything is read: interfaces, peers, claims, MACs and
// addresses used twice.

extension Loader {
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

  mutating func checkUplinkPorts() {
    let uplinks = declaredUplinks
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
        if let mode, mode != .bridge, let vlanMode = draft(port)?.spec.vlanMode {
          if case .access = vlanMode {
          } else {
            error(
              "the port of \(mode.rawValue) uplink '\(name)' must be an access port (vlan: N)",
              at: entry.valueLocation)
          }
        }
      }
    }
    // One without a valid mode has its own error already; that it is unused adds nothing.
    for uplink in uplinks where users[uplink.name] == nil && uplink.mode != nil {
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
