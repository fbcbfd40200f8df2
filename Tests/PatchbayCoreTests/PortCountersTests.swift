import PatchbayCore
import Testing

@Suite("PortCounters")
struct PortCountersTests {
  @Test func startsAtZero() {
    let counters = PortCounters()
    #expect(counters.receivedPackets == 0)
    #expect(counters.receivedBytes == 0)
    #expect(counters.transmittedPackets == 0)
    #expect(counters.transmittedBytes == 0)
    #expect(counters.floodedPackets == 0)
    #expect(counters.droppedPackets == 0)
    #expect(counters.dropsByReason.isEmpty)
    for reason in DropReason.allCases {
      #expect(counters[dropped: reason] == 0)
    }
  }

  @Test(arguments: DropReason.allCases)
  func eachReasonHasItsOwnCounter(reason: DropReason) {
    var counters = PortCounters()
    counters[dropped: reason] = 7
    counters[dropped: reason] += 1
    for other in DropReason.allCases {
      #expect(counters[dropped: other] == (other == reason ? 8 : 0), "\(other)")
    }
    #expect(counters.droppedPackets == 8)
    #expect(counters.dropsByReason.map(\.reason) == [reason])
    #expect(counters.dropsByReason.map(\.count) == [8])
  }

  @Test func droppedPacketsSumsEveryReason() {
    var counters = PortCounters()
    var expectedTotal: UInt64 = 0
    for reason in DropReason.allCases {
      let count = UInt64(reason.rawValue + 1) * 10
      counters[dropped: reason] = count
      expectedTotal += count
    }
    #expect(counters.droppedPackets == expectedTotal)
    // 10 + 20 + ... + 10n for the n reasons.
    let n = UInt64(DropReason.allCases.count)
    #expect(counters.droppedPackets == 10 * n * (n + 1) / 2)
    for reason in DropReason.allCases {
      #expect(counters[dropped: reason] == UInt64(reason.rawValue + 1) * 10)
    }
  }

  @Test func dropsByReasonListsNonZeroCountsInDeclarationOrder() {
    var counters = PortCounters()
    counters[dropped: .transmitFailed] = 2
    counters[dropped: .runt] = 5
    counters[dropped: .portDown] = 1
    counters[dropped: .samePort] = 0
    #expect(counters.dropsByReason.map(\.reason) == [.runt, .portDown, .transmitFailed])
    #expect(counters.dropsByReason.map(\.count) == [5, 1, 2])
    #expect(counters.droppedPackets == 8)
  }

  @Test func dropCountersAreIndependentOfTrafficCounters() {
    var counters = PortCounters()
    counters.receivedPackets = 3
    counters.receivedBytes = 180
    counters.transmittedPackets = 2
    counters.transmittedBytes = 120
    counters.floodedPackets = 1
    #expect(counters.droppedPackets == 0)
    #expect(counters.dropsByReason.isEmpty)
    counters[dropped: .transmitFailed] = 4
    #expect(counters.receivedPackets == 3)
    #expect(counters.receivedBytes == 180)
    #expect(counters.transmittedPackets == 2)
    #expect(counters.transmittedBytes == 120)
    #expect(counters.floodedPackets == 1)
  }

  @Test func equalityComparesEveryCounter() {
    let base = PortCounters()
    #expect(base == PortCounters())
    var changes: [(String, (inout PortCounters) -> Void)] = [
      ("receivedPackets", { $0.receivedPackets = 1 }),
      ("receivedBytes", { $0.receivedBytes = 1 }),
      ("linkDowns", { $0.linkDowns = 1 }),
      ("transmittedPackets", { $0.transmittedPackets = 1 }),
      ("transmittedBytes", { $0.transmittedBytes = 1 }),
      ("floodedPackets", { $0.floodedPackets = 1 }),
    ]
    for reason in DropReason.allCases {
      changes.append(("\(reason)", { $0[dropped: reason] = 1 }))
    }
    for (name, change) in changes {
      var changed = base
      change(&changed)
      #expect(changed != base, "\(name)")
      var same = base
      change(&same)
      #expect(changed == same, "\(name)")
    }
  }

  @Test func copiesAreIndependentValues() {
    var original = PortCounters()
    original[dropped: .runt] = 1
    original.receivedPackets = 1
    var copy = original
    copy[dropped: .runt] = 9
    copy.receivedPackets = 9
    #expect(original[dropped: .runt] == 1)
    #expect(original.receivedPackets == 1)
    #expect(copy[dropped: .runt] == 9)
  }
}
