import PatchbayCore
import PatchbayWire

extension Topology {
  /// The port security the switch enforces on `port`: its settings, with
  /// `mac-lock: true` and `ip-guard: true` resolved to the MAC and fixed
  /// address of the host on the port (the loader made sure there is one).
  public func security(of port: PortSpec) -> PortSecurity {
    let spec = port.security
    let host = host(on: port.reference)
    var security = PortSecurity(
      maximumMACs: spec.maxMACs, blocksDHCPServers: spec.dhcpGuard,
      isProtected: spec.isProtected)
    if spec.macLock {
      security.lockedMAC = spec.lockedMAC ?? host.map { macAddress(of: $0) }
    }
    if spec.ipGuard {
      if let address = spec.guardedAddress {
        security.guardedAddress = address
      } else if case .fixed(let cidr) = host?.address {
        security.guardedAddress = cidr.address
      }
    }
    return security
  }
}
