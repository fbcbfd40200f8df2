/// How a VLAN mode reads in `status` and in capture interface descriptions.
extension VLANMode {
  /// `access 1`, `trunk all native 10`, `dot1q-tunnel 300`.
  public var summary: String {
    switch self {
    case .access(let vlan): return "access \(vlan)"
    case .trunk(let allowed, let native, let nativeTagged):
      var text: String
      switch allowed {
      case .all: text = "trunk all"
      case .only(let list): text = "trunk " + list.map(String.init).joined(separator: ",")
      }
      if let native { text += " native \(native)\(nativeTagged ? " tagged" : "")" }
      return text
    case .dot1qTunnel(let vlan, _): return "dot1q-tunnel \(vlan)"
    }
  }
}
