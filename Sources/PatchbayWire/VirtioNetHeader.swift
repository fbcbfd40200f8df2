/// The virtio-net header (`struct virtio_net_hdr`, 10 bytes, little-endian) that
/// a TAP opened with IFF_VNET_HDR, or a packet socket with PACKET_VNET_HDR, puts
/// in front of every frame: how to finish a partial checksum and how a GSO
/// superframe is to be cut into segments.
///
/// A switch passes it through with the frame. The only edit it ever needs is
/// when a VLAN tag is pushed or popped: every offset into the frame past the
/// MAC addresses (`checksumStart`, and `headerLength` of a GSO frame) moves by 4.
public struct VirtioNetHeader: Hashable, Sendable {
  /// Field offsets from the start of the header.
  public enum Offset {
    /// Flags (`needsChecksum`, `dataValid`).
    public static let flags = 0
    /// GSO type, with the ECN bit.
    public static let gsoType = 1
    /// Length of the Ethernet, IP and TCP/UDP headers of a GSO frame.
    public static let headerLength = 2
    /// Payload bytes per segment of a GSO frame.
    public static let gsoSize = 4
    /// Where the partial checksum's coverage starts.
    public static let checksumStart = 6
    /// Where, from `checksumStart`, the checksum goes.
    public static let checksumOffset = 8
  }

  /// The header's length on the wire.
  public static let byteCount = 10

  /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `checksumStart + checksumOffset` is partial.
  public static let needsChecksum: UInt8 = 1
  /// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksums were verified.
  public static let dataValid: UInt8 = 2

  /// The kinds of GSO superframe.
  public enum GSOType: UInt8, Sendable {
    /// Not a GSO frame.
    case none = 0
    /// TCP over IPv4 (TSO).
    case tcpIPv4 = 1
    /// UDP fragmentation offload (legacy UFO).
    case udp = 3
    /// TCP over IPv6.
    case tcpIPv6 = 4
    /// UDP segmentation offload (USO), IPv4 or IPv6.
    case udpL4 = 5
  }

  /// `VIRTIO_NET_HDR_GSO_ECN`: the TCP superframe carries ECN (CWR on the first segment).
  public static let ecnBit: UInt8 = 0x80

  /// Flags.
  public var flags: UInt8
  /// GSO type byte, ECN bit included.
  public var gsoTypeByte: UInt8
  /// Ethernet + IP + L4 header length of a GSO frame (a hint for some senders: may be 0).
  public var headerLength: UInt16
  /// Payload bytes per segment.
  public var gsoSize: UInt16
  /// Where the partial checksum's coverage starts, from the start of the frame.
  public var checksumStart: UInt16
  /// Where, from `checksumStart`, the checksum field is.
  public var checksumOffset: UInt16

  /// A header saying nothing: no partial checksum, no GSO.
  public static let plain = VirtioNetHeader(
    flags: 0, gsoTypeByte: 0, headerLength: 0, gsoSize: 0, checksumStart: 0, checksumOffset: 0)

  /// Makes a header from its fields.
  public init(
    flags: UInt8, gsoTypeByte: UInt8, headerLength: UInt16, gsoSize: UInt16,
    checksumStart: UInt16, checksumOffset: UInt16
  ) {
    self.flags = flags
    self.gsoTypeByte = gsoTypeByte
    self.headerLength = headerLength
    self.gsoSize = gsoSize
    self.checksumStart = checksumStart
    self.checksumOffset = checksumOffset
  }

  /// Reads a header from the first 10 bytes of `bytes`.
  public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= VirtioNetHeader.byteCount else { throw .truncated }
    self.init(unchecked: bytes.baseAddress!)
  }

  /// Reads a header at `pointer`; the caller guarantees 10 readable bytes.
  @inlinable @inline(__always)
  public init(unchecked pointer: UnsafeRawPointer) {
    flags = pointer.load(fromByteOffset: Offset.flags, as: UInt8.self)
    gsoTypeByte = pointer.load(fromByteOffset: Offset.gsoType, as: UInt8.self)
    headerLength = UInt16(
      littleEndian: pointer.loadUnaligned(fromByteOffset: Offset.headerLength, as: UInt16.self))
    gsoSize = UInt16(
      littleEndian: pointer.loadUnaligned(fromByteOffset: Offset.gsoSize, as: UInt16.self))
    checksumStart = UInt16(
      littleEndian: pointer.loadUnaligned(fromByteOffset: Offset.checksumStart, as: UInt16.self))
    checksumOffset = UInt16(
      littleEndian: pointer.loadUnaligned(fromByteOffset: Offset.checksumOffset, as: UInt16.self))
  }

  /// Writes the header at `pointer`; the caller guarantees 10 writable bytes.
  @inlinable @inline(__always)
  public func store(to pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: flags, toByteOffset: Offset.flags, as: UInt8.self)
    pointer.storeBytes(of: gsoTypeByte, toByteOffset: Offset.gsoType, as: UInt8.self)
    pointer.storeBytes(
      of: headerLength.littleEndian, toByteOffset: Offset.headerLength, as: UInt16.self)
    pointer.storeBytes(of: gsoSize.littleEndian, toByteOffset: Offset.gsoSize, as: UInt16.self)
    pointer.storeBytes(
      of: checksumStart.littleEndian, toByteOffset: Offset.checksumStart, as: UInt16.self)
    pointer.storeBytes(
      of: checksumOffset.littleEndian, toByteOffset: Offset.checksumOffset, as: UInt16.self)
  }

  /// The header as 10 bytes.
  public var bytes: [UInt8] {
    var out = [UInt8](repeating: 0, count: VirtioNetHeader.byteCount)
    out.withUnsafeMutableBytes { store(to: $0.baseAddress!) }
    return out
  }

  /// The GSO type without the ECN bit; nil for a type Patchbay does not know.
  public var gsoType: GSOType? { GSOType(rawValue: gsoTypeByte & ~VirtioNetHeader.ecnBit) }

  /// True for a GSO superframe.
  @inlinable @inline(__always)
  public var isGSO: Bool { gsoTypeByte & ~VirtioNetHeader.ecnBit != 0 }

  /// True when the header asks for offload work: a superframe to segment or a
  /// partial checksum to complete.
  @inlinable @inline(__always)
  public var requestsOffload: Bool { flags & VirtioNetHeader.needsChecksum != 0 || isGSO }

  /// The header for the same frame after `delta` bytes were inserted (+4: a tag
  /// pushed) or removed (-4: a tag popped) right after the MAC addresses. Offsets
  /// that point past the addresses move; a zero `headerLength` stays zero.
  @inlinable @inline(__always)
  public func shifted(by delta: Int) -> VirtioNetHeader {
    var copy = self
    if flags & VirtioNetHeader.needsChecksum != 0 && checksumStart >= 12 {
      copy.checksumStart = UInt16(truncatingIfNeeded: Int(checksumStart) + delta)
    }
    if isGSO && headerLength >= 12 {
      copy.headerLength = UInt16(truncatingIfNeeded: Int(headerLength) + delta)
    }
    return copy
  }
}
