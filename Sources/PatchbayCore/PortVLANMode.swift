import PatchbayWire

/// How a port treats VLANs, after OVS's port modes.
public enum PortVLANMode: Sendable, Equatable {
  /// Untagged on the wire, `vlan` inside. Tagged frames are dropped; priority-tagged
  /// (VLAN 0) frames count as untagged and keep their priority.
  case access(vlan: UInt16)
  /// 802.1Q-tagged frames of `allowed` VLANs pass (others are dropped). Untagged
  /// frames belong to `native` (dropped when there is none) and frames of `native`
  /// leave untagged unless `nativeTagged`.
  case trunk(allowed: VLANBitmap, native: UInt16?, nativeTagged: Bool)
  /// QinQ customer port: every frame, tagged or not, travels in `serviceVLAN`; on
  /// trunks it carries an outer tag of type `tagType`, and it leaves this kind of
  /// port exactly as it came in.
  case dot1qTunnel(serviceVLAN: UInt16, tagType: EtherType)

  /// The VLANs the port belongs to: where its frames go, and which floods reach it.
  public var membership: VLANBitmap {
    switch self {
    case .access(let vlan): return VLANBitmap([vlan])
    case .trunk(let allowed, _, _): return allowed
    case .dot1qTunnel(let vlan, _): return VLANBitmap([vlan])
    }
  }
}

/// What ingress classification learned about one frame: the VLAN it belongs to
/// inside the switch and what a trunk must put back on the wire for it.
public struct IngressFrame: Sendable, Equatable {
  // The five fields packed in one word (VLAN in bits 0–15, tag control 16–31,
  // tag type 32–47, stripped length 48–55, inner tag bit 56): the bridge keeps
  // one register live for the classification across learning and lookup, and
  // returns it with its decision in registers instead of through memory.
  @usableFromInline var bits: UInt64

  /// The classification as one word, for carrying it to another thread with its frame.
  @inlinable
  public var rawValue: UInt64 { bits }

  /// The classification `rawValue` held.
  @inlinable
  public init(rawValue: UInt64) { bits = rawValue }

  /// The VLAN the frame belongs to.
  @inlinable
  public var vlan: UInt16 {
    get { UInt16(truncatingIfNeeded: bits) }
    set { bits = bits & ~0xFFFF | UInt64(newValue) }
  }
  /// The tag control information to send on a trunk: the received priority and
  /// drop-eligible bits with `vlan` as the ID.
  @inlinable
  public var tagControl: UInt16 {
    get { UInt16(truncatingIfNeeded: bits >> 16) }
    set { bits = bits & ~(0xFFFF << 16) | UInt64(newValue) << 16 }
  }
  /// The tag protocol identifier to use on trunks (0x8100, or 0x88a8 for QinQ).
  @inlinable
  public var tagType: EtherType {
    get { EtherType(rawValue: UInt16(truncatingIfNeeded: bits >> 32)) }
    set { bits = bits & ~(0xFFFF << 32) | UInt64(newValue.rawValue) << 32 }
  }
  /// Bytes of a tag removed on ingress, right after the MAC addresses (0 or 4).
  @inlinable
  public var strippedTagLength: Int {
    get { Int(truncatingIfNeeded: bits >> 48 & 0xFF) }
    set { bits = bits & ~(0xFF << 48) | UInt64(UInt8(newValue)) << 48 }
  }
  /// True when, once the stripped tag is gone, the frame still starts with a tag
  /// (a customer's tag inside a service VLAN, or a double-tagged frame).
  @inlinable
  public var hasInnerTag: Bool {
    get { bits >> 56 & 1 == 1 }
    set { bits = bits & ~(1 << 56) | (newValue ? 1 << 56 : 0) }
  }

  /// Makes a classification. `strippedTagLength` must fit in a byte (it is 0 or 4).
  @inlinable
  public init(
    vlan: UInt16, tagControl: UInt16, tagType: EtherType, strippedTagLength: Int,
    hasInnerTag: Bool = false
  ) {
    bits =
      UInt64(vlan) | UInt64(tagControl) << 16 | UInt64(tagType.rawValue) << 32
      | UInt64(UInt8(strippedTagLength)) << 48 | (hasInnerTag ? 1 << 56 : 0)
  }
}

/// How a frame leaves one port: the received frame, minus a stripped tag, plus a
/// pushed tag, both right after the MAC addresses. The I/O layer writes it as
/// (MACs, pushed tag, rest) without moving bytes.
public struct EgressEncapsulation: Sendable, Equatable {
  /// The tag to insert after the MAC addresses, if any.
  public var pushedTag: VLANTag?
  /// Bytes right after the MAC addresses to leave out (a tag stripped on ingress).
  public var skippedLength: Int

  /// The offset of the bytes that follow the MAC addresses.
  public static let addressesLength = 12

  /// Makes an encapsulation.
  public init(pushedTag: VLANTag?, skippedLength: Int) {
    self.pushedTag = pushedTag
    self.skippedLength = skippedLength
  }

  /// True when the frame goes out exactly as received.
  @inline(__always)
  public var isIdentity: Bool { pushedTag == nil && skippedLength == 0 }

  /// The length on the wire of a frame received with `receivedLength` bytes.
  @inline(__always)
  public func wireLength(ofReceived receivedLength: Int) -> Int {
    receivedLength - skippedLength + (pushedTag == nil ? 0 : VLANTag.byteCount)
  }

  /// The frame as it leaves, as bytes (for tests and for patch cables, which
  /// need the frame in one piece).
  public func apply(to frame: UnsafeRawBufferPointer) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(wireLength(ofReceived: frame.count))
    out += frame[0..<EgressEncapsulation.addressesLength]
    if let tag = pushedTag {
      out += [
        UInt8(tag.protocolID.rawValue >> 8), UInt8(tag.protocolID.rawValue & 0xFF),
        UInt8(tag.controlInformation >> 8), UInt8(tag.controlInformation & 0xFF),
      ]
    }
    out += frame[(EgressEncapsulation.addressesLength + skippedLength)...]
    return out
  }

  /// Writes the frame as it leaves into `destination`, which must hold
  /// `wireLength(ofReceived: frame.count)` bytes; returns that length.
  @inline(__always)
  public func write(_ frame: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer)
    -> Int
  {
    let addresses = EgressEncapsulation.addressesLength
    destination.copyMemory(from: frame.baseAddress!, byteCount: addresses)
    var offset = addresses
    if let tag = pushedTag {
      destination.storeBytes(
        of: tag.protocolID.rawValue.bigEndian, toByteOffset: offset, as: UInt16.self)
      destination.storeBytes(
        of: tag.controlInformation.bigEndian, toByteOffset: offset + 2, as: UInt16.self)
      offset += VLANTag.byteCount
    }
    let rest = frame.count - addresses - skippedLength
    (destination + offset).copyMemory(
      from: frame.baseAddress! + addresses + skippedLength, byteCount: rest)
    return offset + rest
  }
}
