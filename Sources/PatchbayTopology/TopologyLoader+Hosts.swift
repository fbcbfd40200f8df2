import PatchbayWire
import Yams

// `hosts`: a namespace on a switch port, with its veth, address, gateway and command.

extension Loader {
  mutating func readHost(_ item: Entry) -> HostSpec? {
    let context = "in host '\(item.key)'"
    guard let entries = section(item, kind: "host", known: TopologyKeys.host, required: []) else {
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
}
