/// What the switch does with one received frame: a pure function of the frame,
/// its ingress port, the time and the switch state.
public enum ForwardingDecision: Equatable, Sendable {
  /// Send to exactly this port; the frame belongs to `vlan`.
  case forward(port: Int, vlan: UInt16)
  /// Send to every port of `vlan` except the ingress port (`Bridge.floods(to:vlan:from:)`).
  case flood(vlan: UInt16)
  /// Drop, for this reason (already counted on the ingress port).
  case drop(DropReason)
}
