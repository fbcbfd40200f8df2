/// A read-only, checked view over the bytes of an Ethernet II frame, 802.1Q-aware.
///
/// The view does not own its bytes: it is valid only while the buffer it was
/// made from is. `init(validating:)` proves the fixed header and every VLAN tag
/// it declares (at most two, as in QinQ) fit in the buffer, so every accessor
/// below reads inside the buffer without checking again. Nothing here traps on
/// hostile input: bad input fails the constructor.
public struct EthernetFrame {
  /// Field offsets from the start of the frame.
  public enum Offset {
    /// Destination MAC address.
    public static let destination = 0
    /// Source MAC address.
    public static let source = 6
    /// The outer EtherType or tag protocol identifier.
    public static let etherType = 12
    /// The first tag's control information, when the frame is tagged.
    public static let firstTagControl = 14
  }

  /// The length of the untagged header: two addresses and an EtherType.
  public static let headerLength = 14
  /// The most tags the view walks past to find the payload (802.1ad outer + 802.1Q inner).
  public static let maximumTags = 2

  /// The frame's bytes, from the destination address to the end (no FCS).
  public let bytes: UnsafeRawBufferPointer
  /// How many VLAN tags precede the payload EtherType (0, 1 or 2).
  public let tagCount: Int

  /// Checks that `bytes` hold a whole Ethernet header and every tag it declares.
  ///
  /// Throws `.truncated` for fewer than 14 bytes or a tag cut short.
  @inlinable @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= EthernetFrame.headerLength else { throw .truncated }
    var tags = 0
    var typeOffset = Offset.etherType
    while tags < EthernetFrame.maximumTags,
      EtherType(rawValue: bytes.bigEndianUInt16(at: typeOffset)).isVLANTag
    {
      guard bytes.count >= typeOffset + 2 + VLANTag.byteCount else { throw .truncated }
      tags += 1
      typeOffset += VLANTag.byteCount
    }
    self.bytes = bytes
    self.tagCount = tags
  }

  /// The destination address.
  @inlinable @inline(__always)
  public var destination: MACAddress { MACAddress(unchecked: bytes, at: Offset.destination) }

  /// The source address.
  @inlinable @inline(__always)
  public var source: MACAddress { MACAddress(unchecked: bytes, at: Offset.source) }

  /// The outer EtherType: the payload type of an untagged frame, or a tag protocol identifier.
  @inlinable @inline(__always)
  public var etherType: EtherType {
    EtherType(rawValue: bytes.bigEndianUInt16(at: Offset.etherType))
  }

  /// The outermost VLAN tag, if the frame has one.
  @inlinable @inline(__always)
  public var outerTag: VLANTag? {
    tagCount == 0 ? nil : tag(at: 0)
  }

  /// The tag at `index` (0 is outermost); `index` must be below `tagCount`.
  @inlinable @inline(__always)
  public func tag(at index: Int) -> VLANTag {
    precondition(index >= 0 && index < tagCount, "tag index out of range")
    let offset = Offset.etherType + index * VLANTag.byteCount
    return VLANTag(
      protocolID: EtherType(rawValue: bytes.bigEndianUInt16(at: offset)),
      controlInformation: bytes.bigEndianUInt16(at: offset + 2))
  }

  /// The EtherType after all tags: what the payload is.
  @inlinable @inline(__always)
  public var payloadType: EtherType {
    EtherType(rawValue: bytes.bigEndianUInt16(at: Offset.etherType + tagCount * VLANTag.byteCount))
  }

  /// The offset of the payload (header plus tags).
  @inlinable @inline(__always)
  public var payloadOffset: Int { EthernetFrame.headerLength + tagCount * VLANTag.byteCount }

  /// The bytes after the header and tags.
  public var payload: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[payloadOffset...])
  }
}

/// A writable view over an Ethernet frame's fixed header, for building and rewriting frames.
///
/// Checked like `EthernetFrame`: the constructor proves the 14-byte header fits.
public struct MutableEthernetFrame {
  /// The frame's bytes.
  public let bytes: UnsafeMutableRawBufferPointer

  /// Checks that `bytes` hold at least an untagged Ethernet header.
  public init(validating bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
    guard bytes.count >= EthernetFrame.headerLength else { throw .truncated }
    self.bytes = bytes
  }

  /// Sets the destination address.
  public func setDestination(_ address: MACAddress) {
    address.store(into: bytes, at: EthernetFrame.Offset.destination)
  }

  /// Sets the source address.
  public func setSource(_ address: MACAddress) {
    address.store(into: bytes, at: EthernetFrame.Offset.source)
  }

  /// Sets the outer EtherType (or tag protocol identifier).
  public func setEtherType(_ type: EtherType) {
    bytes.storeBigEndian(type.rawValue, at: EthernetFrame.Offset.etherType)
  }
}

/// The parsed, validated value of an untagged-or-single-tagged Ethernet header,
/// for building frames (`emit`) and comparing them in tests.
public struct EthernetHeader: Hashable, Sendable {
  /// Destination address.
  public var destination: MACAddress
  /// Source address.
  public var source: MACAddress
  /// The 802.1Q tag, if any.
  public var tag: VLANTag?
  /// The payload's EtherType.
  public var payloadType: EtherType

  /// Makes a header value.
  public init(
    destination: MACAddress, source: MACAddress, tag: VLANTag? = nil, payloadType: EtherType
  ) {
    self.destination = destination
    self.source = source
    self.tag = tag
    self.payloadType = payloadType
  }

  /// The header's length on the wire.
  public var byteCount: Int { EthernetFrame.headerLength + (tag == nil ? 0 : VLANTag.byteCount) }

  /// The header followed by `payload`, as bytes.
  public func emit(payload: some Collection<UInt8> = [UInt8]()) -> [UInt8] {
    var out = destination.octets + source.octets
    if let tag {
      out += [UInt8(tag.protocolID.rawValue >> 8), UInt8(tag.protocolID.rawValue & 0xFF)]
      out += [UInt8(tag.controlInformation >> 8), UInt8(tag.controlInformation & 0xFF)]
    }
    out += [UInt8(payloadType.rawValue >> 8), UInt8(payloadType.rawValue & 0xFF)]
    out += payload
    return out
  }
}
