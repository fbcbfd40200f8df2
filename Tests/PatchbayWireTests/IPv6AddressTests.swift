import PatchbayWire
import Testing

struct IPv6AddressTests {
  @Test func parsesFullAndCompressedForms() {
    let full = IPv6Address("2001:0db8:0000:0000:0000:0000:0002:0001")
    #expect(full == IPv6Address(0x2001, 0x0DB8, 0, 0, 0, 0, 2, 1))
    #expect(IPv6Address("2001:db8::2:1") == full)
    #expect(IPv6Address("2001:DB8::2:1") == full)
    #expect(IPv6Address("::") == .unspecified)
    #expect(IPv6Address("::1") == .loopback)
    #expect(IPv6Address("1::") == IPv6Address(1, 0, 0, 0, 0, 0, 0, 0))
    #expect(IPv6Address("1:2:3:4:5:6:7::") == IPv6Address(1, 2, 3, 4, 5, 6, 7, 0))
    #expect(IPv6Address("::2:3:4:5:6:7:8") == IPv6Address(0, 2, 3, 4, 5, 6, 7, 8))
    #expect(IPv6Address("1:2:3:4:5:6:7:8") == IPv6Address(1, 2, 3, 4, 5, 6, 7, 8))
    #expect(IPv6Address("fe80::1:2") == IPv6Address(0xFE80, 0, 0, 0, 0, 0, 1, 2))
    #expect(IPv6Address("0:0:0:0:0:0:0:0") == .unspecified)
    #expect(IPv6Address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")?.rawValue == UInt128.max)
  }

  @Test func parsesEmbeddedIPv4Tails() {
    #expect(IPv6Address("::ffff:192.0.2.1") == IPv6Address(0, 0, 0, 0, 0, 0xFFFF, 0xC000, 0x0201))
    #expect(IPv6Address("::192.0.2.1") == IPv6Address(0, 0, 0, 0, 0, 0, 0xC000, 0x0201))
    #expect(
      IPv6Address("64:ff9b::198.51.100.7") == IPv6Address(0x64, 0xFF9B, 0, 0, 0, 0, 0xC633, 0x6407))
    #expect(IPv6Address("1:2:3:4:5:6:10.0.0.1") == IPv6Address(1, 2, 3, 4, 5, 6, 0x0A00, 0x0001))
  }

  @Test(arguments: [
    "", ":", ":::", "1:::2", "1::2::3", "::1::", ":1::", "1::2:", ":1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
    "1::2:3:4:5:6:7:8", "12345::", "g::", "::g", "2001:db8::1 ", " 2001:db8::1", "fe80::1%eth0",
    "1.2.3.4::", "::1.2.3", "::256.1.1.1", "::01.2.3.4", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4",
    "::ffff:1.2.3.4.5", "1:2:3:4:5:6:7:8.", "2001:db8:0:0:0:0:0:0:1", "2001.db8::1", "+1::", "-1::",
    "::-1", "0x1::", "::１",
  ])
  func rejectsMalformedText(_ text: String) {
    #expect(IPv6Address(text) == nil)
  }

  @Test func printsPerRFC5952() {
    // RFC 5952 §4.1: no leading zeros; §4.2.1: the longest run; §4.2.2: not a single 0;
    // §4.2.3: the first of equal runs; §4.3: lower case; §5: IPv4-mapped as dotted quad.
    let cases: [(String, String)] = [
      ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
      ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
      ("2001:db8:0000:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
      ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
      ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
      ("2001:DB8:ABCD:EF01::C", "2001:db8:abcd:ef01::c"),
      ("0:0:0:0:0:0:0:0", "::"),
      ("0:0:0:0:0:0:0:1", "::1"),
      ("1:0:0:0:0:0:0:0", "1::"),
      ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
      ("0:2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
      ("fe80:0:0:0:0:0:0:1", "fe80::1"),
      ("0:0:1:0:0:0:1:0", "0:0:1::1:0"),
      ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
      ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),
      ("::192.0.2.1", "::c000:201"),
      ("ff02::1:ff00:1234", "ff02::1:ff00:1234"),
      ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
    ]
    for (input, expected) in cases {
      #expect(IPv6Address(input)?.description == expected, "\(input)")
    }
  }

  @Test func printedTextParsesBack() {
    var generator = SplitMix64(seed: 5952)
    for _ in 0..<2000 {
      // Mostly zero groups so that runs of every length and position appear.
      var groups = (0..<8).map { _ in
        Bool.random(using: &generator) ? 0 : UInt16.random(in: 0...UInt16.max, using: &generator)
      }
      if Int.random(in: 0..<10, using: &generator) == 0 { groups[0...5] = [0, 0, 0, 0, 0, 0xFFFF] }
      let address = IPv6Address(
        groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
      #expect(IPv6Address(address.description) == address, "\(address)")
      #expect(address.groups == groups)
    }
  }

  @Test func octetsGroupsAndRawValue() {
    let address = IPv6Address("2001:db8::11")!
    #expect(address.rawValue == 0x2001_0DB8_0000_0000_0000_0000_0000_0011)
    #expect(address.groups == [0x2001, 0x0DB8, 0, 0, 0, 0, 0, 0x11])
    #expect(address.octets == [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11])
  }

  @Test func classifiesAddresses() {
    #expect(IPv6Address.unspecified.isUnspecified)
    #expect(!IPv6Address.loopback.isUnspecified)
    #expect(IPv6Address.loopback.isLoopback)
    #expect(IPv6Address("ff02::1")!.isMulticast)
    #expect(!IPv6Address("fe80::1")!.isMulticast)
    #expect(IPv6Address("fe80::1")!.isLinkLocal)
    #expect(IPv6Address("febf:ffff::1")!.isLinkLocal)
    #expect(!IPv6Address("fec0::1")!.isLinkLocal)
    #expect(!IPv6Address("fe7f::1")!.isLinkLocal)
  }

  @Test func ipv4Mapping() {
    let v4 = IPv4Address(192, 0, 2, 1)
    let mapped = IPv6Address(ipv4Mapped: v4)
    #expect(mapped == IPv6Address("::ffff:192.0.2.1"))
    #expect(mapped.ipv4Mapped == v4)
    #expect(IPv6Address("::192.0.2.1")!.ipv4Mapped == nil)
    #expect(IPv6Address("1::ffff:192.0.2.1")!.ipv4Mapped == nil)
  }

  @Test func ordersNumerically() {
    #expect(IPv6Address("::1")! < IPv6Address("::2")!)
    #expect(IPv6Address("ffff::")! > IPv6Address("fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!)
  }
}
