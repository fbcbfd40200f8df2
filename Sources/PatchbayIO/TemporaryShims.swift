import PatchbayTopology
import PatchbayWire

// Temporary until the topology branch lands (it provides Topology.macAddress(of:)).
extension Topology {
  func macAddress(of host: HostSpec) -> MACAddress {
    if let mac = host.mac { return mac }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in "\(name)/\(host.name)".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return MACAddress(rawValue: (hash & 0x00FF_FFFF_FFFF) | 0x0200_0000_0000)
  }
}
