/// One 802.1Q or 802.1ad tag: the tag protocol identifier and the tag control information.
public struct VLANTag: Hashable, Sendable, CustomStringConvertible {
  /// The tag protocol identifier (0x8100 or 0x88a8).
  public var protocolID: EtherType
  /// The 16-bit tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
  public var controlInformation: UInt16

  /// The byte length of a tag on the wire.
  public static let byteCount = 4

  /// The largest valid VLAN identifier (4095 is reserved).
  public static let maximumVLANID: UInt16 = 4094

  /// Makes a tag from its wire fields.
  @inlinable @inline(__always)
  public init(protocolID: EtherType, controlInformation: UInt16) {
    self.protocolID = protocolID
    self.controlInformation = controlInformation
  }

  /// Makes a tag from its parts; `vlanID` is masked to 12 bits and `priority` to 3.
  public init(
    protocolID: EtherType = .vlan, vlanID: UInt16, priority: UInt8 = 0, dropEligible: Bool = false
  ) {
    self.protocolID = protocolID
    self.controlInformation =
      UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | (vlanID & 0x0FFF)
  }

  /// The VLAN identifier (0 means priority-tagged, no VLAN).
  @inlinable @inline(__always)
  public var vlanID: UInt16 { controlInformation & 0x0FFF }

  /// The priority code point, 0 through 7.
  @inlinable @inline(__always)
  public var priority: UInt8 { UInt8(truncatingIfNeeded: controlInformation >> 13) }

  /// The drop eligible indicator.
  public var isDropEligible: Bool { controlInformation & 0x1000 != 0 }

  /// `vlan 10 pcp 0` style text.
  public var description: String {
    "\(protocolID == .serviceVLAN ? "s-vlan" : "vlan") \(vlanID) pcp \(priority)"
  }
}
