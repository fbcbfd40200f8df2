import PatchbayCore
import PatchbayWire
import Yams

// `uplinks`: NAT, bridged or host-only ways out, with the NAT's DHCP range and port forwards.

private let sessionCounts = 16...1_048_576

extension Loader {
  /// Reads one uplink; nil when its mode or a key its mode needs is missing
  /// or wrong (each reported). Its name and mode are kept for the cross
  /// checks either way, so a port naming it gets no second error.
  mutating func readUplink(_ item: Entry) -> UplinkSpec? {
    let context = "in uplink '\(item.key)'"
    guard
      let entries = section(item, kind: "uplink", known: TopologyKeys.uplink, required: ["mode"])
    else {
      declaredUplinks.append((item.key, nil, item.keyLocation))
      return nil
    }
    var mode: UplinkMode?
    if let entry = entries.first(where: { $0.key == "mode" }) {
      mode = value(entry) { text throws(ValueFormatError) in
        guard let mode = UplinkMode(rawValue: text) else {
          throw ValueFormatError("use nat, bridge or host-only")
        }
        return mode
      }
    }
    declaredUplinks.append((item.key, mode, item.keyLocation))
    var interface: String?
    var address: AddressAssignment?
    var gateway: (IPv4Address, Entry)?
    var inside: IPv4CIDR?
    var dns: DNSSpec?
    var maxSessions = 65_536
    var forwardEntry: Entry?
    var dhcpEntry: Entry?
    for entry in entries {
      switch entry.key {
      case "interface": interface = self.interface(entry)
      case "address": address = assignment(entry)
      case "gateway":
        if let parsed = self.address(entry) { gateway = (parsed, entry) }
      case "inside": inside = cidr(entry)
      case "dhcp": dhcpEntry = entry
      case "dns":
        dns = value(entry) { text throws(ValueFormatError) in
          if text == "relay" { return DNSSpec.relay }
          guard let server = IPv4Address(text) else {
            throw ValueFormatError("expected relay or an IPv4 address")
          }
          return .server(server)
        }
      case "forward": forwardEntry = entry
      case "max-sessions":
        if let count = integer(entry, in: sessionCounts) { maxSessions = count }
      default: break
      }
    }
    if mode != .bridge { checkGateway(gateway, address: address) }
    // dhcp and forward read after `inside`, whatever the key order, to check against it.
    let dhcp = dhcpEntry.flatMap { readDHCP($0, uplink: item.key, inside: inside) }
    let forwards = forwardEntry.map { readForwards($0, inside: inside) } ?? []

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
    let settings: UplinkSpec.Settings
    switch mode {
    case .nat:
      guard let interface, let address, let inside else { return nil }
      settings = .nat(
        NATUplinkSpec(
          interface: interface, address: address, gateway: gateway?.0, inside: inside,
          dhcp: dhcp, dns: dns, forwards: forwards, maxSessions: maxSessions))
    case .bridge:
      guard let interface else { return nil }
      settings = .bridge(interface: interface)
    case .hostOnly:
      guard let inside else { return nil }
      settings = .hostOnly(inside: inside)
    }
    return UplinkSpec(name: item.key, settings: settings, location: item.keyLocation)
  }

  mutating func readDHCP(_ item: Entry, uplink: String, inside: IPv4CIDR?) -> DHCPSpec? {
    let context = "in dhcp of uplink '\(uplink)'"
    let entries = fields(of: item.value, known: TopologyKeys.dhcp, context: context, what: "'dhcp'")
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
