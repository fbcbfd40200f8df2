import PatchbayWire
import Yams

// Values that several sections share: MACs, addresses, interface names, port references.

extension Loader {
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
}

/// `[A-Za-z0-9_.-]`, starting with a letter or digit: safe in `SWITCH/PORT`, interface and
/// namespace names.
func isValidName(_ name: String) -> Bool {
  guard let first = name.unicodeScalars.first, first.isASCIIAlphanumeric else { return false }
  return name.unicodeScalars.allSatisfy {
    $0.isASCIIAlphanumeric || "-_.".unicodeScalars.contains($0)
  }
}

/// Refuses the network and broadcast addresses of subnets where they are not usable.
func checkHostAddress(_ cidr: IPv4CIDR) throws(ValueFormatError) {
  guard cidr.prefixLength <= 30 else { return }
  if cidr.address == cidr.network { throw ValueFormatError("that is the subnet's network address") }
  if cidr.address == cidr.broadcast {
    throw ValueFormatError("that is the subnet's broadcast address")
  }
}
