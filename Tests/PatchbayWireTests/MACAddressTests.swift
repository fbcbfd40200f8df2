import PatchbayWire
import Testing

struct MACAddressTests {
  @Test func parsesColonsAndDashesInEitherCase() {
    let expected = MACAddress(0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF)
    #expect(MACAddress("52:54:00:ab:cd:ef") == expected)
    #expect(MACAddress("52:54:00:AB:CD:EF") == expected)
    #expect(MACAddress("52-54-00-aB-Cd-eF") == expected)
    #expect(MACAddress("2:54:0:ab:cd:ef") == MACAddress(0x02, 0x54, 0x00, 0xAB, 0xCD, 0xEF))
    #expect(MACAddress("ff:ff:ff:ff:ff:ff") == .broadcast)
    #expect(MACAddress("00:00:00:00:00:00") == .zero)
  }

  @Test(arguments: [
    "", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52:54:00:ab:cd:eg", "52:54:00:ab:cd:eff",
    "052:54:00:ab:cd:ef", "52:54:00-ab-cd-ef", "52::00:ab:cd:ef", "52:54:00:ab:cd:",
    ":54:00:ab:cd:ef",
    "525400abcdef", "52.54.00.ab.cd.ef", "52 54 00 ab cd ef", " 52:54:00:ab:cd:ef",
    "52:54:00:ab:cd:ef ", "+2:54:00:ab:cd:ef", "52:54:00:ab:cd:+f", "-0:54:00:ab:cd:ef",
    "52:54:00:ab:cd:-f", "0x:54:00:ab:cd:ef", "52:54:00:ab:cd:ｅｆ",
  ])
  func rejectsMalformedText(_ text: String) {
    #expect(MACAddress(text) == nil)
  }

  @Test func printsLowerCaseWithColons() {
    #expect(MACAddress(0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF).description == "52:54:00:ab:cd:ef")
    #expect(MACAddress.zero.description == "00:00:00:00:00:00")
    #expect(MACAddress.broadcast.description == "ff:ff:ff:ff:ff:ff")
    #expect(MACAddress("A-B-C-D-E-F")?.description == "0a:0b:0c:0d:0e:0f")
  }

  @Test func rawValueHoldsTheFirstOctetHighest() {
    let address = MACAddress(0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF)
    #expect(address.rawValue == 0x5254_00AB_CDEF)
    #expect(address.octets == [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF])
    #expect(MACAddress(rawValue: 0xFFFF_5254_00AB_CDEF) == address)  // high bits ignored
  }

  @Test func readsFromBytes() {
    #expect(
      MACAddress(bytes: [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF, 0x99])
        == MACAddress("52:54:00:ab:cd:ef"))
    #expect(MACAddress(bytes: [0x52, 0x54, 0x00, 0xAB, 0xCD]) == nil)
    #expect(MACAddress(bytes: [UInt8]()) == nil)
  }

  @Test func classifiesAddresses() {
    let unicast = MACAddress("52:54:00:ab:cd:ef")!
    #expect(unicast.isUnicast && !unicast.isMulticast && !unicast.isBroadcast)
    #expect(unicast.isLocallyAdministered)  // 0x52 has bit 1 set
    #expect(unicast.isValidSource)
    let vendor = MACAddress("00:07:0d:af:f4:54")!
    #expect(!vendor.isLocallyAdministered)
    let multicast = MACAddress("01:00:5e:01:02:03")!
    #expect(multicast.isMulticast && !multicast.isUnicast && !multicast.isValidSource)
    #expect(MACAddress("33:33:00:00:00:01")!.isMulticast)
    #expect(MACAddress.broadcast.isBroadcast && MACAddress.broadcast.isMulticast)
    #expect(MACAddress.zero.isZero && !MACAddress.zero.isValidSource)
  }

  @Test func reservedGroupIsExactlyTheSixteenIEEEAddresses() {
    #expect(MACAddress("01:80:c2:00:00:00")!.isReservedGroup)  // STP
    #expect(MACAddress("01:80:c2:00:00:02")!.isReservedGroup)  // LACP
    #expect(MACAddress("01:80:c2:00:00:0e")!.isReservedGroup)  // LLDP
    #expect(MACAddress("01:80:c2:00:00:0f")!.isReservedGroup)
    #expect(!MACAddress("01:80:c2:00:00:10")!.isReservedGroup)
    #expect(!MACAddress("01:80:c2:00:01:00")!.isReservedGroup)
    #expect(!MACAddress("03:80:c2:00:00:00")!.isReservedGroup)
  }

  @Test func ordersNumerically() {
    #expect(MACAddress("00:00:00:00:00:01")! < MACAddress("00:00:00:00:01:00")!)
    #expect(!(MACAddress.broadcast < MACAddress.zero))
  }
}
