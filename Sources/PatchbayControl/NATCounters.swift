/// A NAT uplink's counters as `patchbay nat` shows them (`counters` in
/// `nat --json`): one flat JSON object under kebab-case names
/// (`sessions-created`, `nic-sent-bytes`, `dhcp-acks`), the `dhcp-` ones only
/// for a router that serves DHCP.
public struct NATCounters: Sendable, Equatable {
  /// Sessions opened.
  public var sessionsCreated: UInt64 = 0
  /// Sessions that timed out.
  public var sessionsExpired: UInt64 = 0
  /// Sessions evicted to make room in a full table.
  public var sessionsEvicted: UInt64 = 0
  /// Frames translated on their way out.
  public var translatedOut: UInt64 = 0
  /// Frames translated on their way in.
  public var translatedIn: UInt64 = 0
  /// ICMP errors from outside translated back to the inside host they concern.
  public var icmpErrorsTranslated: UInt64 = 0
  /// Frames the router answered itself (ARP, ping, DHCP).
  public var answered: UInt64 = 0
  /// Frames for someone else, or of no interest (IPv6, other hosts' ARP): not drops.
  public var ignored: UInt64 = 0
  /// Learned neighbours on the lab's side.
  public var neighboursInside: UInt64 = 0
  /// Learned neighbours on the physical network's side.
  public var neighboursOutside: UInt64 = 0
  /// Neighbours evicted from either table.
  public var neighboursEvicted: UInt64 = 0
  /// Frames sent on the physical NIC.
  public var nicSentFrames: UInt64 = 0
  /// Bytes sent on the physical NIC.
  public var nicSentBytes: UInt64 = 0
  /// Frames received from the physical NIC.
  public var nicReceivedFrames: UInt64 = 0
  /// Sends on the physical NIC that failed.
  public var nicSendFailures: UInt64 = 0
  /// The DHCP server's messages, for a router that serves DHCP.
  public var dhcp: DHCPCounters?

  /// All zero, no DHCP server.
  public init() {}
}

/// What a NAT uplink's DHCP server received and sent.
public struct DHCPCounters: Sendable, Equatable {
  /// DISCOVERs received.
  public var discovers: UInt64 = 0
  /// OFFERs sent.
  public var offers: UInt64 = 0
  /// REQUESTs received.
  public var requests: UInt64 = 0
  /// ACKs sent.
  public var acks: UInt64 = 0
  /// NAKs sent.
  public var naks: UInt64 = 0
  /// DISCOVERs left unanswered for want of a free address.
  public var poolExhausted: UInt64 = 0

  /// All zero.
  public init() {}
}

extension NATCounters: Codable {
  private enum Key: String, CodingKey {
    case sessionsCreated = "sessions-created"
    case sessionsExpired = "sessions-expired"
    case sessionsEvicted = "sessions-evicted"
    case translatedOut = "translated-out"
    case translatedIn = "translated-in"
    case icmpErrorsTranslated = "icmp-errors-translated"
    case answered, ignored
    case neighboursInside = "neighbours-inside"
    case neighboursOutside = "neighbours-outside"
    case neighboursEvicted = "neighbours-evicted"
    case nicSentFrames = "nic-sent-frames"
    case nicSentBytes = "nic-sent-bytes"
    case nicReceivedFrames = "nic-received-frames"
    case nicSendFailures = "nic-send-failures"
    case dhcpDiscovers = "dhcp-discovers"
    case dhcpOffers = "dhcp-offers"
    case dhcpRequests = "dhcp-requests"
    case dhcpAcks = "dhcp-acks"
    case dhcpNaks = "dhcp-naks"
    case dhcpPoolExhausted = "dhcp-pool-exhausted"
  }

  /// The counters and their keys, in one place for both directions (computed:
  /// key paths are not Sendable, so no stored static may hold them).
  private static var fields: [(Key, WritableKeyPath<NATCounters, UInt64>)] {
    [
      (.sessionsCreated, \.sessionsCreated), (.sessionsExpired, \.sessionsExpired),
      (.sessionsEvicted, \.sessionsEvicted), (.translatedOut, \.translatedOut),
      (.translatedIn, \.translatedIn), (.icmpErrorsTranslated, \.icmpErrorsTranslated),
      (.answered, \.answered), (.ignored, \.ignored), (.neighboursInside, \.neighboursInside),
      (.neighboursOutside, \.neighboursOutside), (.neighboursEvicted, \.neighboursEvicted),
      (.nicSentFrames, \.nicSentFrames), (.nicSentBytes, \.nicSentBytes),
      (.nicReceivedFrames, \.nicReceivedFrames), (.nicSendFailures, \.nicSendFailures),
    ]
  }

  private static var dhcpFields: [(Key, WritableKeyPath<DHCPCounters, UInt64>)] {
    [
      (.dhcpDiscovers, \.discovers), (.dhcpOffers, \.offers), (.dhcpRequests, \.requests),
      (.dhcpAcks, \.acks), (.dhcpNaks, \.naks), (.dhcpPoolExhausted, \.poolExhausted),
    ]
  }

  /// Decodes the flat object; the `dhcp-` counters make `dhcp` when `dhcp-discovers` is there.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    for (key, field) in Self.fields {
      self[keyPath: field] = try container.decode(UInt64.self, forKey: key)
    }
    guard container.contains(.dhcpDiscovers) else { return }
    var dhcp = DHCPCounters()
    for (key, field) in Self.dhcpFields {
      dhcp[keyPath: field] = try container.decode(UInt64.self, forKey: key)
    }
    self.dhcp = dhcp
  }

  /// Encodes every counter, the `dhcp-` ones only with `dhcp`.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for (key, field) in Self.fields { try container.encode(self[keyPath: field], forKey: key) }
    guard let dhcp else { return }
    for (key, field) in Self.dhcpFields { try container.encode(dhcp[keyPath: field], forKey: key) }
  }
}
