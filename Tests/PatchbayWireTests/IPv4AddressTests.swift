import PatchbayWire
import Testing

struct IPv4AddressTests {
  @Test func parsesDottedQuads() {
    #expect(IPv4Address("10.0.0.1")?.rawValue == 0x0A00_0001)
    #expect(IPv4Address("192.0.2.255") == IPv4Address(192, 0, 2, 255))
    #expect(IPv4Address("0.0.0.0") == .any)
    #expect(IPv4Address("255.255.255.255") == .broadcast)
    #expect(IPv4Address(Substring("1.2.3.4")) == IPv4Address(1, 2, 3, 4))
  }

  @Test(arguments: [
    "", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1.2.3.1000", "01.2.3.4", "1.2.3.04",
    "1.02.3.4", "00.0.0.0", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "+1.2.3.4",
    "-1.2.3.4", "1.2.3.0x4", "1,2,3,4", "1:2:3:4", "a.b.c.d", "١.2.3.4", "１.2.3.4", "1.2.3.4/24",
  ])
  func rejectsMalformedText(_ text: String) {
    #expect(IPv4Address(text) == nil)
  }

  @Test func printsAndListsOctets() {
    let address = IPv4Address(192, 0, 2, 1)
    #expect(address.description == "192.0.2.1")
    #expect(address.octets == [192, 0, 2, 1])
    #expect(IPv4Address.any.description == "0.0.0.0")
    #expect(IPv4Address.broadcast.description == "255.255.255.255")
  }

  @Test func classifiesAddresses() {
    #expect(IPv4Address(224, 0, 0, 1).isMulticast)
    #expect(IPv4Address(239, 255, 255, 255).isMulticast)
    #expect(!IPv4Address(223, 255, 255, 255).isMulticast)
    #expect(!IPv4Address(240, 0, 0, 0).isMulticast)
    #expect(IPv4Address(127, 0, 0, 1).isLoopback)
    #expect(IPv4Address(127, 255, 0, 9).isLoopback)
    #expect(!IPv4Address(128, 0, 0, 1).isLoopback)
  }

  @Test func ordersNumerically() {
    #expect(IPv4Address(9, 255, 255, 255) < IPv4Address(10, 0, 0, 0))
    #expect(IPv4Address(10, 0, 0, 2) > IPv4Address(10, 0, 0, 1))
  }

  @Test func cidrParsesAndComputesTheSubnet() throws {
    let cidr = try #require(IPv4CIDR("10.0.10.11/24"))
    #expect(cidr.address == IPv4Address(10, 0, 10, 11))
    #expect(cidr.prefixLength == 24)
    #expect(cidr.mask == 0xFFFF_FF00)
    #expect(cidr.network == IPv4Address(10, 0, 10, 0))
    #expect(cidr.broadcast == IPv4Address(10, 0, 10, 255))
    #expect(cidr.contains(IPv4Address(10, 0, 10, 200)))
    #expect(!cidr.contains(IPv4Address(10, 0, 11, 1)))
    #expect(cidr.description == "10.0.10.11/24")
  }

  @Test func cidrEdgesOfThePrefix() throws {
    let all = try #require(IPv4CIDR("192.0.2.1/0"))
    #expect(all.mask == 0)
    #expect(all.network == .any)
    #expect(all.broadcast == .broadcast)
    #expect(all.contains(IPv4Address(203, 0, 113, 9)))
    let host = try #require(IPv4CIDR("192.0.2.1/32"))
    #expect(host.mask == 0xFFFF_FFFF)
    #expect(host.network == IPv4Address(192, 0, 2, 1))
    #expect(host.broadcast == IPv4Address(192, 0, 2, 1))
    #expect(host.contains(IPv4Address(192, 0, 2, 1)))
    #expect(!host.contains(IPv4Address(192, 0, 2, 2)))
    let odd = try #require(IPv4CIDR("172.16.5.4/12"))
    #expect(odd.network == IPv4Address(172, 16, 0, 0))
    #expect(odd.broadcast == IPv4Address(172, 31, 255, 255))
  }

  @Test(arguments: [
    "10.0.0.0", "10.0.0.0/", "/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
    "10.0.0.0/008", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0/8", "10.0.0.0\\8",
  ])
  func cidrRejectsMalformedText(_ text: String) {
    #expect(IPv4CIDR(text) == nil)
  }

  @Test func cidrRejectsAnOutOfRangePrefix() {
    #expect(IPv4CIDR(address: .any, prefixLength: 33) == nil)
    #expect(IPv4CIDR(address: .any, prefixLength: -1) == nil)
    #expect(IPv4CIDR(address: .any, prefixLength: 32) != nil)
  }
}
