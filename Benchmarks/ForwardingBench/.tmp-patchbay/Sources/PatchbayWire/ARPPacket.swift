// ARP for Ethernet and IPv4 (RFC 826).
//
// Safety: `ARPPacket(validating:)` proves the buffer holds the 28 bytes of an
// Ethernet/IPv4 ARP packet; every accessor reads a fixed field below 28.
// `ARPMessage.emit(into:)` checks for 28 bytes of room before writing.

/// The operation code of an ARP packet; unknown codes survive a round trip.
public struct ARPOperation: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  /// The value as carried on the wire.
  public let rawValue: UInt16

  /// Makes an operation from its wire value.
  @inline(__always)
  public init(rawValue: UInt16) { self.rawValue = rawValue }

  /// Request, 1: who has the target protocol address?
  public static let request = ARPOperation(rawValue: 1)
  /// Reply, 2: the sender hardware address has the sender protocol address.
  public static let reply = ARPOperation(rawValue: 2)

  /// `request`, `reply` or the number.
  public var description: String {
    switch self {
    case .request: return "request"
    case .reply: return "reply"
    default: return String(rawValue)
    }
  }
}

/// A read-only, checked view over an Ethernet/IPv4 ARP packet.
///
/// Valid only while the buffer it was made from is. Bytes past the 28 of the
/// packet (Ethernet padding) are allowed and ignored.
public struct ARPPacket {
  /// Field offsets from the start of the packet.
  public enum Offset {
    /// Hardware type (1 for Ethernet).
    public static let hardwareType = 0
    /// Protocol type (an EtherType, 0x0800 for IPv4).
    public static let protocolType = 2
    /// Hardware address length (6).
    public static let hardwareLength = 4
    /// Protocol address length (4).
    public static let protocolLength = 5
    /// Operation code.
    public static let operation = 6
    /// Sender hardware (MAC) address.
    public static let senderHardwareAddress = 8
    /// Sender protocol (IPv4) address.
    public static let senderProtocolAddress = 14
    /// Target hardware (MAC) address.
    public static let targetHardwareAddress = 18
    /// Target protocol (IPv4) address.
    public static let targetProtocolAddress = 24
  }

  /// The length of an Ethernet/IPv4 ARP packet.
  public static let byteCount = 28
  /// The hardware type of Ethernet.
  public static let ethernetHardwareType: UInt16 = 1

  /// The packet's bytes, possibly followed by padding.
  public let bytes: UnsafeRawBufferPointer

  /// Checks that `bytes` hold an Ethernet/IPv4 ARP packet.
  ///
  /// Throws `.truncated` for fewer than 28 bytes and `.malformed` unless the
  /// hardware type is 1, the protocol type 0x0800 and the lengths 6 and 4.
  @inline(__always)
  public init(validating bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard bytes.count >= ARPPacket.byteCount else { throw .truncated }
    guard bytes.bigEndianUInt16(at: Offset.hardwareType) == ARPPacket.ethernetHardwareType,
      bytes.bigEndianUInt16(at: Offset.protocolType) == EtherType.ipv4.rawValue,
      bytes[Offset.hardwareLength] == MACAddress.byteCount,
      bytes[Offset.protocolLength] == IPv4Address.byteCount
    else { throw .malformed }
    self.bytes = bytes
  }

  /// The operation.
  @inline(__always)
  public var operation: ARPOperation {
    ARPOperation(rawValue: bytes.bigEndianUInt16(at: Offset.operation))
  }

  /// The sender's MAC address.
  @inline(__always)
  public var senderHardwareAddress: MACAddress {
    MACAddress(unchecked: bytes, at: Offset.senderHardwareAddress)
  }

  /// The sender's IPv4 address.
  @inline(__always)
  public var senderProtocolAddress: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.senderProtocolAddress))
  }

  /// The target's MAC address (zero in a request).
  @inline(__always)
  public var targetHardwareAddress: MACAddress {
    MACAddress(unchecked: bytes, at: Offset.targetHardwareAddress)
  }

  /// The target's IPv4 address.
  @inline(__always)
  public var targetProtocolAddress: IPv4Address {
    IPv4Address(rawValue: bytes.bigEndianUInt32(at: Offset.targetProtocolAddress))
  }
}

/// The parsed value of an Ethernet/IPv4 ARP packet, for building packets and comparing them.
public struct ARPMessage: Hashable, Sendable {
  /// The operation.
  public var operation: ARPOperation
  /// The sender's MAC address.
  public var senderHardwareAddress: MACAddress
  /// The sender's IPv4 address.
  public var senderProtocolAddress: IPv4Address
  /// The target's MAC address.
  public var targetHardwareAddress: MACAddress
  /// The target's IPv4 address.
  public var targetProtocolAddress: IPv4Address

  /// Makes a message value.
  public init(
    operation: ARPOperation,
    senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
    targetHardwareAddress: MACAddress, targetProtocolAddress: IPv4Address
  ) {
    self.operation = operation
    self.senderHardwareAddress = senderHardwareAddress
    self.senderProtocolAddress = senderProtocolAddress
    self.targetHardwareAddress = targetHardwareAddress
    self.targetProtocolAddress = targetProtocolAddress
  }

  /// Reads the value of a checked packet.
  public init(_ packet: ARPPacket) {
    self.init(
      operation: packet.operation,
      senderHardwareAddress: packet.senderHardwareAddress,
      senderProtocolAddress: packet.senderProtocolAddress,
      targetHardwareAddress: packet.targetHardwareAddress,
      targetProtocolAddress: packet.targetProtocolAddress)
  }

  /// Writes the 28-byte packet at the start of `bytes`; throws `.truncated` if they are fewer.
  public func emit(into bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
    guard bytes.count >= ARPPacket.byteCount else { throw .truncated }
    typealias Offset = ARPPacket.Offset
    bytes.storeBigEndian(ARPPacket.ethernetHardwareType, at: Offset.hardwareType)
    bytes.storeBigEndian(EtherType.ipv4.rawValue, at: Offset.protocolType)
    bytes[Offset.hardwareLength] = UInt8(MACAddress.byteCount)
    bytes[Offset.protocolLength] = UInt8(IPv4Address.byteCount)
    bytes.storeBigEndian(operation.rawValue, at: Offset.operation)
    senderHardwareAddress.store(into: bytes, at: Offset.senderHardwareAddress)
    bytes.storeBigEndian(senderProtocolAddress.rawValue, at: Offset.senderProtocolAddress)
    targetHardwareAddress.store(into: bytes, at: Offset.targetHardwareAddress)
    bytes.storeBigEndian(targetProtocolAddress.rawValue, at: Offset.targetProtocolAddress)
  }

  /// The 28-byte packet, as bytes.
  public func emit() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: ARPPacket.byteCount)
    out.withUnsafeMutableBytes { bytes in try! emit(into: bytes) }
    return out
  }
}
