import PatchbayWire
import Testing

@testable import PatchbayCore

// The router's ARP cache is bounded: a least recently confirmed learned entry
// gives way, static entries and the pinned gateway never do, and the
// bookkeeping behind it stays bounded too.

private func address(_ last: Int) -> IPv4Address {
  IPv4Address(rawValue: 0x0A00_0000 | UInt32(last))
}
private let mac = MACAddress("02:00:00:00:00:01")!
private let otherMAC = MACAddress("02:00:00:00:00:02")!

@Suite struct NeighbourTableTests {
  @Test func aFullTableEvictsTheLeastRecentlyConfirmedEntry() {
    var table = NeighbourTable(capacity: 3)
    for last in 1...3 { _ = table.learn(address(last), at: mac, now: .seconds(UInt64(last))) }
    // 1 confirmed again: 2 is now the oldest.
    _ = table.learn(address(1), at: mac, now: .seconds(10))
    _ = table.learn(address(4), at: mac, now: .seconds(11))
    #expect(table.mac(of: address(2)) == nil)
    #expect(table.mac(of: address(1)) == mac && table.mac(of: address(3)) == mac)
    #expect(table.mac(of: address(4)) == mac)
    #expect(table.learnedCount == 3 && table.evicted == 1)
  }

  @Test func staticEntriesNeitherCountNorGiveWay() {
    var table = NeighbourTable(static: [address(100): otherMAC], capacity: 2)
    for last in 1...5 { _ = table.learn(address(last), at: mac, now: .seconds(UInt64(last))) }
    #expect(table.mac(of: address(100)) == otherMAC)
    #expect(table.learnedCount == 2 && table.evicted == 3)
    #expect(table.mac(of: address(4)) == mac && table.mac(of: address(5)) == mac)
  }

  @Test func thePinnedAddressStaysThroughAFlood() {
    var table = NeighbourTable(capacity: 4)
    _ = table.learn(address(1), at: otherMAC, now: .zero)
    table.pinned = address(1)
    for last in 2...1000 { _ = table.learn(address(last), at: mac, now: .seconds(UInt64(last))) }
    #expect(table.mac(of: address(1)) == otherMAC)
    #expect(table.learnedCount == 4 && table.evicted == 1000 - 4)
  }

  @Test func forgottenEntriesFreeTheirRoom() {
    var table = NeighbourTable(capacity: 2)
    _ = table.learn(address(1), at: mac, now: .zero)
    _ = table.learn(address(2), at: mac, now: .zero)
    _ = table.sweep(at: .seconds(301))
    #expect(table.learnedCount == 0)
    _ = table.learn(address(3), at: mac, now: .seconds(302))
    _ = table.learn(address(4), at: mac, now: .seconds(302))
    #expect(table.evicted == 0 && table.learnedCount == 2)
  }

  @Test func theRecencyRecordsStayWithinASmallMultipleOfTheEntries() {
    var table = NeighbourTable(capacity: 8)
    // Eight addresses confirmed again and again, and a stream of new ones.
    for second in 0..<20_000 {
      let last = second % 3 == 0 ? 1 + second % 8 : 100 + second
      _ = table.learn(address(last), at: mac, now: .seconds(UInt64(second)))
      #expect(table.recency.count <= 4 * 16 + 1)
    }
    #expect(table.learnedCount == 8)
  }
}
