// Byte-exact sample packets shared by the tests, field by field.
//
// Every checksum below was computed independently of Patchbay (a short Python
// RFC 1071 script) and the frames were checked with `tcpdump -nn -vv`, which
// reported the IPv4 header, ICMP, TCP ("cksum 0xb068 (correct)", "cksum 0xecc6
// (correct)") and UDP ("udp sum ok") checksums correct.

import PatchbayWire
import Testing

enum Sample {
  /// The Ethernet header of the IPv4 samples: 52:54:00:ab:cd:ef -> 52:54:00:12:34:56, IPv4.
  static let ethernetIPv4Header: [UInt8] = [
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56,  // destination
    0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,  // source
    0x08, 0x00,  // IPv4
  ]

  /// An ARP request modelled on Wireshark's arp-storm sample: who has 24.166.173.159?
  /// tell 24.166.172.1; padded with zeros to the 60-byte Ethernet minimum.
  static let arpRequestFrame: [UInt8] =
    [
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // destination: broadcast
      0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54,  // source
      0x08, 0x06,  // ARP
    ] + arpRequest + [UInt8](repeating: 0, count: 18)

  /// The 28 bytes of the ARP request.
  static let arpRequest: [UInt8] = [
    0x00, 0x01,  // hardware type: Ethernet
    0x08, 0x00,  // protocol type: IPv4
    0x06, 0x04,  // address lengths
    0x00, 0x01,  // operation: request
    0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54,  // sender MAC
    0x18, 0xa6, 0xac, 0x01,  // sender IP 24.166.172.1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target MAC: unknown
    0x18, 0xa6, 0xad, 0x9f,  // target IP 24.166.173.159
  ]

  /// The answer to `arpRequest`: 24.166.173.159 is at 00:1a:2b:3c:4d:5e.
  static let arpReply: [UInt8] = [
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
    0x00, 0x02,  // operation: reply
    0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,  // sender MAC
    0x18, 0xa6, 0xad, 0x9f,  // sender IP 24.166.173.159
    0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54,  // target MAC
    0x18, 0xa6, 0xac, 0x01,  // target IP 24.166.172.1
  ]

  /// An echo request as Linux `ping` sends it: 10.0.10.11 -> 10.0.10.12, id 0x1c2f, seq 1,
  /// 56 data bytes.
  static let icmpEchoPacket: [UInt8] =
    [
      0x45, 0x00, 0x00, 0x54,  // version 4, IHL 5, DSCP/ECN 0, total length 84
      0x3e, 0x4f, 0x40, 0x00,  // identification 0x3e4f, DF, offset 0
      0x40, 0x01, 0xd4, 0x43,  // TTL 64, ICMP, header checksum 0xd443
      0x0a, 0x00, 0x0a, 0x0b,  // source 10.0.10.11
      0x0a, 0x00, 0x0a, 0x0c,  // destination 10.0.10.12
    ] + icmpEchoMessage

  /// The ICMP part of `icmpEchoPacket`.
  static let icmpEchoMessage: [UInt8] =
    [
      0x08, 0x00, 0xf9, 0x3f,  // echo request, code 0, checksum 0xf93f
      0x1c, 0x2f, 0x00, 0x01,  // identifier 0x1c2f, sequence 1
    ] + icmpEchoData

  /// The 56 data bytes of a Linux ping: a timestamp, then 0x10 through 0x37.
  static let icmpEchoData: [UInt8] =
    [
      0x5e, 0x1c, 0x8f, 0x65, 0x00, 0x00, 0x00, 0x00,  // timestamp: seconds
      0x2a, 0x3b, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,  // timestamp: microseconds
    ] + Array(UInt8(0x10)...UInt8(0x37))

  /// A Linux-style TCP SYN, 10.0.10.11:54321 -> 10.0.10.12:80, with MSS, SACK-permitted,
  /// timestamps and window scale options.
  static let tcpSynPacket: [UInt8] =
    [
      0x45, 0x00, 0x00, 0x3c,  // version 4, IHL 5, total length 60
      0x8d, 0x2c, 0x40, 0x00,  // identification 0x8d2c, DF
      0x40, 0x06, 0x85, 0x79,  // TTL 64, TCP, header checksum 0x8579
      0x0a, 0x00, 0x0a, 0x0b,  // source 10.0.10.11
      0x0a, 0x00, 0x0a, 0x0c,  // destination 10.0.10.12
    ] + tcpSynSegment

  /// The TCP part of `tcpSynPacket`.
  static let tcpSynSegment: [UInt8] =
    [
      0xd4, 0x31, 0x00, 0x50,  // ports 54321 -> 80
      0x1e, 0x8c, 0x4b, 0x2a,  // sequence 0x1e8c4b2a
      0x00, 0x00, 0x00, 0x00,  // acknowledgment 0
      0xa0, 0x02, 0xfa, 0xf0,  // data offset 10 (40 bytes), SYN, window 64240
      0xb0, 0x68, 0x00, 0x00,  // checksum 0xb068, urgent pointer 0
    ] + tcpSynOptions

  /// The 20 option bytes of `tcpSynSegment`.
  static let tcpSynOptions: [UInt8] = [
    0x02, 0x04, 0x05, 0xb4,  // MSS 1460
    0x04, 0x02,  // SACK permitted
    0x08, 0x0a, 0x0a, 0x1b, 0x2c, 0x3d, 0x00, 0x00, 0x00, 0x00,  // timestamps
    0x01,  // NOP
    0x03, 0x03, 0x07,  // window scale 7
  ]

  /// A DNS query for example.com over UDP/IPv4, 10.0.10.11:53000 -> 10.0.10.1:53, no DF.
  static let udpDNSPacket: [UInt8] =
    [
      0x45, 0x00, 0x00, 0x39,  // version 4, IHL 5, total length 57
      0x12, 0x34, 0x00, 0x00,  // identification 0x1234, no flags
      0x40, 0x11, 0x40, 0x75,  // TTL 64, UDP, header checksum 0x4075
      0x0a, 0x00, 0x0a, 0x0b,  // source 10.0.10.11
      0x0a, 0x00, 0x0a, 0x01,  // destination 10.0.10.1
    ] + udpDNSDatagram

  /// The UDP part of `udpDNSPacket`.
  static let udpDNSDatagram: [UInt8] =
    [
      0xcf, 0x08, 0x00, 0x35,  // ports 53000 -> 53
      0x00, 0x25, 0x8d, 0x1f,  // length 37, checksum 0x8d1f
    ] + dnsQuery

  /// A DNS query, id 0xabcd, recursion desired, one question: example.com IN A.
  static let dnsQuery: [UInt8] = [
    0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,  // "example"
    0x03, 0x63, 0x6f, 0x6d, 0x00,  // "com"
    0x00, 0x01, 0x00, 0x01,  // type A, class IN
  ]

  /// The same DNS query over UDP/IPv6, [2001:db8::11]:53000 -> [2001:db8::53]:53,
  /// flow label 0x12345.
  static let udpDNSPacketIPv6: [UInt8] =
    [
      0x60, 0x01, 0x23, 0x45,  // version 6, traffic class 0, flow label 0x12345
      0x00, 0x25, 0x11, 0x40,  // payload length 37, UDP, hop limit 64
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,  // source 2001:db8::11
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,  // destination 2001:db8::53
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x53,
    ] + udpDNSDatagramIPv6

  /// The UDP part of `udpDNSPacketIPv6`.
  static let udpDNSDatagramIPv6: [UInt8] =
    [
      0xcf, 0x08, 0x00, 0x35,  // ports 53000 -> 53
      0x00, 0x25, 0x59, 0x55,  // length 37, checksum 0x5955
    ] + dnsQuery

  /// An IGMPv2 report for 239.1.2.3 with the router alert option (IHL 6), TTL 1, DSCP 48.
  static let igmpRouterAlertPacket: [UInt8] = [
    0x46, 0xc0, 0x00, 0x20,  // version 4, IHL 6, DSCP 48 (CS6), total length 32
    0x00, 0x00, 0x40, 0x00,  // identification 0, DF
    0x01, 0x02, 0xdf, 0x08,  // TTL 1, IGMP, header checksum 0xdf08
    0x0a, 0x00, 0x0a, 0x0b,  // source 10.0.10.11
    0xef, 0x01, 0x02, 0x03,  // destination 239.1.2.3
    0x94, 0x04, 0x00, 0x00,  // option: router alert
    0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,  // IGMPv2 membership report
  ]

  /// The echo reply to `icmpEchoPacket`'s request: type 0, checksum 0x0140, same data.
  static let icmpEchoReplyMessage: [UInt8] =
    [
      0x00, 0x00, 0x01, 0x40,  // echo reply, code 0, checksum 0x0140
      0x1c, 0x2f, 0x00, 0x01,  // identifier 0x1c2f, sequence 1
    ] + icmpEchoData

  /// A TCP segment with data over IPv6: [2001:db8::11]:40000 -> [2001:db8::53]:8080,
  /// PSH+ACK, "hello\n".
  static let tcpDataPacketIPv6: [UInt8] =
    [
      0x60, 0x00, 0x00, 0x00,  // version 6, traffic class 0, flow label 0
      0x00, 0x1a, 0x06, 0x40,  // payload length 26, TCP, hop limit 64
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,  // source 2001:db8::11
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,  // destination 2001:db8::53
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x53,
    ] + tcpDataSegmentIPv6

  /// The TCP part of `tcpDataPacketIPv6`.
  static let tcpDataSegmentIPv6: [UInt8] = [
    0x9c, 0x40, 0x1f, 0x90,  // ports 40000 -> 8080
    0x01, 0x02, 0x03, 0x04,  // sequence 0x01020304
    0xa0, 0xb0, 0xc0, 0xd0,  // acknowledgment 0xa0b0c0d0
    0x50, 0x18, 0x01, 0xf6,  // data offset 5, PSH+ACK, window 502
    0xec, 0xc6, 0x00, 0x00,  // checksum 0xecc6, urgent pointer 0
    0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,  // "hello\n"
  ]

  /// The worked example of an IPv4 header checksum from Wikipedia ("IPv4 header checksum").
  static let wikipediaIPv4Header: [UInt8] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
    0xb8, 0x61,  // checksum
    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
  ]
}

/// The error a checked constructor throws for `bytes`, or nil when it accepts them.
func rejection(
  _ bytes: [UInt8], by make: (UnsafeRawBufferPointer) throws -> Void
) -> WireError? {
  bytes.withUnsafeBytes { buffer in
    do {
      try make(buffer)
      return nil
    } catch let error as WireError {
      return error
    } catch {
      Issue.record("not a WireError: \(error)")
      return nil
    }
  }
}

/// A seeded, deterministic generator (SplitMix64), so random tests replay exactly.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// The big-endian 16-bit word at `offset` of `bytes`.
func word(_ bytes: [UInt8], at offset: Int) -> UInt16 {
  UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}
