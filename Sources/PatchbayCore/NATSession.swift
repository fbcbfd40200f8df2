import PatchbayWire

/// The transports the NAT translates.
public enum NATTransport: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// ICMP echo: the identifier stands in for a port.
  case icmp = 1
  /// TCP.
  case tcp = 6
  /// UDP.
  case udp = 17

  /// `icmp`, `tcp` or `udp`.
  public var description: String {
    switch self {
    case .icmp: return "icmp"
    case .tcp: return "tcp"
    case .udp: return "udp"
    }
  }
}

/// A TCP connection's state as the NAT tracks it, named like the kernel's conntrack states.
public enum NATTCPState: UInt8, Sendable, Hashable, CustomStringConvertible {
  /// The opening SYN went out; no answer yet.
  case synSent
  /// The SYN was answered with SYN-ACK.
  case synReceived
  /// The handshake finished.
  case established
  /// One side sent FIN.
  case finWait
  /// Both sides sent FIN; the last ACK is awaited.
  case lastAck
  /// Both FINs were acknowledged.
  case timeWait
  /// A reset ended the connection.
  case close

  /// The kernel's name for the state (`ESTABLISHED`, ...).
  public var description: String {
    switch self {
    case .synSent: return "SYN_SENT"
    case .synReceived: return "SYN_RECV"
    case .established: return "ESTABLISHED"
    case .finWait: return "FIN_WAIT"
    case .lastAck: return "LAST_ACK"
    case .timeWait: return "TIME_WAIT"
    case .close: return "CLOSE"
    }
  }
}

/// How long an idle session lives, by protocol and state. The defaults are the
/// Linux conntrack defaults (`net.netfilter.nf_conntrack_*_timeout*`).
public struct NATTimeouts: Sendable, Hashable {
  /// TCP, SYN sent and unanswered (120 s).
  public var tcpSynSent: UInt64 = 120
  /// TCP, SYN-ACK seen (60 s).
  public var tcpSynReceived: UInt64 = 60
  /// TCP, established (5 days).
  public var tcpEstablished: UInt64 = 432_000
  /// TCP, one FIN seen (120 s).
  public var tcpFinWait: UInt64 = 120
  /// TCP, both FINs seen (30 s).
  public var tcpLastAck: UInt64 = 30
  /// TCP, both FINs acknowledged (120 s).
  public var tcpTimeWait: UInt64 = 120
  /// TCP, reset (10 s).
  public var tcpClose: UInt64 = 10
  /// UDP, no reply seen yet (30 s).
  public var udp: UInt64 = 30
  /// UDP, replies seen (120 s, the kernel's stream timeout).
  public var udpReplied: UInt64 = 120
  /// ICMP echo (30 s).
  public var icmp: UInt64 = 30

  /// The kernel defaults.
  public init() {}

  /// Seconds an idle session of `transport` in `state` lives.
  public func seconds(for transport: NATTransport, state: NATTCPState, replied: Bool) -> UInt64 {
    switch transport {
    case .icmp: return icmp
    case .udp: return replied ? udpReplied : udp
    case .tcp:
      switch state {
      case .synSent: return tcpSynSent
      case .synReceived: return tcpSynReceived
      case .established: return tcpEstablished
      case .finWait: return tcpFinWait
      case .lastAck: return tcpLastAck
      case .timeWait: return tcpTimeWait
      case .close: return tcpClose
      }
    }
  }
}

/// One tracked flow: an inside endpoint talking to a remote one through the
/// NAT's outside address and port.
public struct NATSession: Sendable, Hashable {
  /// The transport.
  public var transport: NATTransport
  /// The inside host's address.
  public var insideAddress: IPv4Address
  /// The inside host's port (ICMP: echo identifier).
  public var insidePort: UInt16
  /// The inside host's MAC, for frames coming back.
  public var insideMAC: MACAddress
  /// The port (ICMP: identifier) on the NAT's outside address.
  public var outsidePort: UInt16
  /// The remote endpoint's address as the outside sees it.
  public var remoteAddress: IPv4Address
  /// The remote port (0 for ICMP).
  public var remotePort: UInt16
  /// The remote endpoint as the inside host addressed it: differs from the
  /// remote for relayed DNS (sent to the router's own address).
  public var originalRemoteAddress: IPv4Address
  /// The remote port as the inside host addressed it.
  public var originalRemotePort: UInt16
  /// TCP state (unused for UDP and ICMP).
  public var tcpState: NATTCPState
  /// True once a frame came back from the remote end.
  public var hasReply: Bool
  /// True for a session opened from outside through a port forward.
  public var isForwarded: Bool
  /// FINs seen: bit 0 from inside, bit 1 from outside.
  var finMask: UInt8
  /// When the session was last used (nanoseconds of the injected clock).
  public var lastUsed: Instant
  /// When it expires if unused.
  public var expiry: Instant
  /// Frames and bytes sent out.
  public var outboundPackets: UInt64
  /// Bytes sent out.
  public var outboundBytes: UInt64
  /// Frames received back.
  public var inboundPackets: UInt64
  /// Bytes received back.
  public var inboundBytes: UInt64
}
