import PatchbayWire
import Testing

struct VLANTagTests {
  @Test func packsItsParts() {
    let tag = VLANTag(vlanID: 10, priority: 5, dropEligible: true)
    #expect(tag.protocolID == .vlan)
    #expect(tag.controlInformation == 0xB00A)  // 101 1 000000001010
    #expect(tag.vlanID == 10)
    #expect(tag.priority == 5)
    #expect(tag.isDropEligible)
  }

  @Test func unpacksWireControlInformation() {
    let tag = VLANTag(protocolID: .serviceVLAN, controlInformation: 0x6FFE)
    #expect(tag.vlanID == 0xFFE)
    #expect(tag.vlanID == VLANTag.maximumVLANID)
    #expect(tag.priority == 3)
    #expect(!tag.isDropEligible)
  }

  @Test func masksOutOfRangeParts() {
    let tag = VLANTag(vlanID: 0x1FFF, priority: 9)
    #expect(tag.vlanID == 0x0FFF)
    #expect(tag.priority == 1)
    #expect(!tag.isDropEligible)
    #expect(tag.controlInformation == 0x2FFF)
  }

  @Test func describesItself() {
    #expect(VLANTag(vlanID: 10).description == "vlan 10 pcp 0")
    #expect(
      VLANTag(protocolID: .serviceVLAN, vlanID: 100, priority: 3).description == "s-vlan 100 pcp 3")
  }
}
