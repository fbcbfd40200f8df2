import PatchbayCore
import Testing

@Suite("VLANBitmap")
struct VLANBitmapTests {
  @Test func startsEmpty() {
    let empty = VLANBitmap()
    #expect(empty.members == [])
    #expect(empty.description == "")
    for vlan: UInt16 in [0, 1, 63, 64, 4094, 4095] {
      #expect(!empty.contains(vlan), "\(vlan)")
    }
    #expect(VLANBitmap([]) == empty)
  }

  @Test(arguments: [1, 2, 62, 63, 64, 65, 127, 128, 4031, 4032, 4093, 4094] as [UInt16])
  func insertsOneVLANAndOnlyIt(vlan: UInt16) {
    var bitmap = VLANBitmap()
    bitmap.insert(vlan)
    #expect(bitmap.contains(vlan))
    #expect(!bitmap.contains(vlan - 1))
    #expect(!bitmap.contains(vlan + 1))
    #expect(bitmap.members == [vlan])
    #expect(bitmap.description == "\(vlan)")
    #expect(bitmap == VLANBitmap([vlan]))
    #expect(bitmap != VLANBitmap())
  }

  @Test func zeroAnd4095AreNeverMembers() {
    var bitmap = VLANBitmap()
    bitmap.insert(0)
    bitmap.insert(4095)
    #expect(bitmap == VLANBitmap())
    #expect(!bitmap.contains(0))
    #expect(!bitmap.contains(4095))
    #expect(VLANBitmap([0, 1, 4094, 4095]).members == [1, 4094])
    // IDs wider than 12 bits are no VLANs either.
    #expect(VLANBitmap([4096, 4097, 0xFFFF]) == VLANBitmap())
  }

  @Test func wordBoundariesAreDistinct() {
    // 63 and 64 sit in different words; 0 and 64 share a bit position in theirs.
    let bitmap = VLANBitmap([63, 64])
    #expect(bitmap.contains(63))
    #expect(bitmap.contains(64))
    #expect(!bitmap.contains(0))
    #expect(!bitmap.contains(62))
    #expect(!bitmap.contains(65))
    #expect(!bitmap.contains(127))
    #expect(!bitmap.contains(128))
    #expect(bitmap.members == [63, 64])
    #expect(bitmap.description == "63-64")
  }

  @Test func allIsOneThrough4094() {
    let all = VLANBitmap.all
    #expect(all.members.count == 4094)
    #expect(all.members.first == 1)
    #expect(all.members.last == 4094)
    #expect(all.contains(1))
    #expect(all.contains(63))
    #expect(all.contains(64))
    #expect(all.contains(4094))
    #expect(!all.contains(0))
    #expect(!all.contains(4095))
    #expect(all.description == "1-4094")
    #expect(all == VLANBitmap(1...4094))
    #expect(all != VLANBitmap(1...4093))
    #expect(all != VLANBitmap(2...4094))
  }

  @Test func insertingTwiceChangesNothing() {
    var bitmap = VLANBitmap([10, 20])
    bitmap.insert(10)
    #expect(bitmap == VLANBitmap([10, 20]))
    #expect(bitmap.members == [10, 20])
    bitmap.insert(30)
    #expect(bitmap.members == [10, 20, 30])
  }

  @Test func membersAreSortedWhateverTheInsertionOrder() {
    let bitmap = VLANBitmap([4094, 100, 1, 64, 63, 100])
    #expect(bitmap.members == [1, 63, 64, 100, 4094])
    #expect(bitmap == VLANBitmap([1, 63, 64, 100, 4094]))
  }

  @Test func descriptionJoinsRunsIntoRanges() {
    let cases: [([UInt16], String)] = [
      ([10, 20] + Array(100...199), "10,20,100-199"),
      ([1], "1"),
      ([1, 2], "1-2"),
      ([1, 3], "1,3"),
      ([1, 2, 3, 5, 7, 8], "1-3,5,7-8"),
      ([1, 4094], "1,4094"),
      ([4093, 4094], "4093-4094"),
      (Array(2...4094), "2-4094"),
      ([200, 100, 101], "100-101,200"),
    ]
    for (vlans, text) in cases {
      #expect(VLANBitmap(vlans).description == text, "\(vlans)")
    }
  }

  @Test func equalityComparesEveryWord() {
    #expect(VLANBitmap([10, 20]) == VLANBitmap([20, 10]))
    #expect(VLANBitmap([1]) != VLANBitmap([2]))
    #expect(VLANBitmap([10, 4094]) != VLANBitmap([10]))
    #expect(VLANBitmap([10, 4094]) != VLANBitmap([10, 4093]))
    #expect(VLANBitmap([64]) != VLANBitmap([63]))
    #expect(VLANBitmap([1]) != VLANBitmap([65]))
  }
}
