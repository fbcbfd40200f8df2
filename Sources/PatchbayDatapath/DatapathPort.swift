/// One port as the datapath sees it: how it moves frames, the descriptor it
/// reads and writes (or the port at the other end of a patch cable), and where
/// it sits in which switch. Plain integers only, so reading one per frame costs
/// no reference counting.
public struct DatapathPort: Sendable {
  /// How a port moves frames.
  public enum Kind: UInt8, Sendable {
    /// A TAP the switch owns: one read or write per frame.
    case tap
    /// A packet socket on an existing interface (`attach:`): batched receive.
    case packetSocket
    /// An in-process patch cable to another switch's port.
    case patchCable
    /// The lab side of a NAT uplink: frames go to an in-process router.
    case router
  }

  /// How the port moves frames.
  public var kind: Kind
  /// The descriptor; -1 for a patch cable, or for a packet socket whose interface is gone.
  public var descriptor: Int32
  /// The index of the port's switch in `Datapath.bridges`.
  public var switchIndex: Int
  /// The port's index within its switch.
  public var portIndex: Int
  /// For a patch cable: the switch at the other end, else -1.
  public var peerSwitchIndex: Int
  /// For a patch cable: the port at the other end, else -1.
  public var peerPortIndex: Int
  /// For a router port: the index of its router in the datapath, else -1.
  public var routerIndex: Int = -1

  /// A TAP port.
  public init(descriptor: Int32, switchIndex: Int, portIndex: Int) {
    self.kind = .tap
    self.descriptor = descriptor
    self.switchIndex = switchIndex
    self.portIndex = portIndex
    self.peerSwitchIndex = -1
    self.peerPortIndex = -1
  }

  /// A packet-socket port; `descriptor` is -1 while its interface is missing.
  public init(packetSocket descriptor: Int32, switchIndex: Int, portIndex: Int) {
    self.init(descriptor: descriptor, switchIndex: switchIndex, portIndex: portIndex)
    self.kind = .packetSocket
  }

  /// One end of an in-process patch cable to port `peerPortIndex` of switch `peerSwitchIndex`.
  public init(switchIndex: Int, portIndex: Int, peerSwitchIndex: Int, peerPortIndex: Int) {
    self.kind = .patchCable
    self.descriptor = -1
    self.switchIndex = switchIndex
    self.portIndex = portIndex
    self.peerSwitchIndex = peerSwitchIndex
    self.peerPortIndex = peerPortIndex
  }

  /// The lab side of NAT uplink number `routerIndex`.
  public init(router routerIndex: Int, switchIndex: Int, portIndex: Int) {
    self.init(descriptor: -1, switchIndex: switchIndex, portIndex: portIndex)
    self.kind = .router
    self.routerIndex = routerIndex
  }

  /// True for a patch cable.
  @inline(__always)
  public var isPatchCable: Bool { kind == .patchCable }
}
