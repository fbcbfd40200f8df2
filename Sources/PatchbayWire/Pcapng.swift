/// The pcapng blocks a capture writes (the IETF pcapng draft, the format
/// Wireshark and tcpdump read): one Section Header Block, one Interface
/// Description Block per captured port, then an Enhanced Packet Block per frame,
/// tied to its port and flagged with its direction. Byte order is the host's,
/// as the format allows (the section header's magic tells readers which).
public enum Pcapng {
  static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
  static let interfaceDescriptionType: UInt32 = 1
  static let enhancedPacketType: UInt32 = 6
  static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
  /// LINKTYPE_ETHERNET.
  static let ethernetLinkType: UInt16 = 1
  // Option codes.
  static let endOfOptions: UInt16 = 0
  static let applicationOption: UInt16 = 4  // shb_userappl
  static let nameOption: UInt16 = 2  // if_name
  static let descriptionOption: UInt16 = 3  // if_description
  static let timestampResolutionOption: UInt16 = 9  // if_tsresol
  static let flagsOption: UInt16 = 2  // epb_flags
  /// if_tsresol 9: timestamps count nanoseconds.
  static let nanosecondResolution: UInt8 = 9

  /// One captured port, as its Interface Description Block names it.
  public struct Interface: Sendable, Equatable {
    /// `SWITCH/PORT`.
    public var name: String
    /// What the port is (`tap lab-h1, host h1`).
    public var description: String
    /// The most bytes kept of each frame.
    public var snaplen: Int

    /// Makes an interface description.
    public init(name: String, description: String, snaplen: Int) {
      self.name = name
      self.description = description
      self.snaplen = snaplen
    }
  }

  /// Which way a frame crossed its port, as the Enhanced Packet Block's flags say.
  public enum Direction: UInt32, Sendable {
    /// The switch received it from the port (the guest sent it).
    case inbound = 1
    /// The switch sent it to the port (the guest receives it).
    case outbound = 2
  }

  /// The section header and one interface block per port, in order: a
  /// packet's interface ID is its port's index in `interfaces`.
  public static func header(interfaces: [Interface]) -> [UInt8] {
    var bytes = block(type: sectionHeaderType) { body in
      append(byteOrderMagic, to: &body)
      append(UInt16(1), to: &body)  // major version
      append(UInt16(0), to: &body)  // minor version
      append(UInt64.max, to: &body)  // section length: not known in advance (-1)
      appendOption(applicationOption, Array("Patchbay".utf8), to: &body)
      appendOption(endOfOptions, [], to: &body)
    }
    for interface in interfaces {
      bytes += block(type: interfaceDescriptionType) { body in
        append(ethernetLinkType, to: &body)
        append(UInt16(0), to: &body)  // reserved
        append(UInt32(clamping: interface.snaplen), to: &body)
        appendOption(nameOption, Array(interface.name.utf8), to: &body)
        appendOption(descriptionOption, Array(interface.description.utf8), to: &body)
        appendOption(timestampResolutionOption, [nanosecondResolution], to: &body)
        appendOption(endOfOptions, [], to: &body)
      }
    }
    return bytes
  }

  /// The bytes an Enhanced Packet Block keeping `captured` frame bytes takes:
  /// 28 bytes of fields, the data padded to 4, the flags option (8), the end
  /// of options (4) and the trailing length (4).
  @inline(__always)
  public static func packetBlockLength(captured: Int) -> Int {
    44 + ((captured + 3) & ~3)
  }

  /// Writes an Enhanced Packet Block of `frame` (`captured` of its
  /// `originalLength` bytes) at `destination`, which has room for
  /// `packetBlockLength(captured:)` bytes at a 4-byte boundary.
  /// `timestamp` is nanoseconds since the epoch.
  @inline(__always)
  public static func writePacketBlock(
    to destination: UnsafeMutableRawPointer, interface: UInt32, timestamp: UInt64,
    direction: Direction, frame: UnsafeRawPointer, captured: Int, originalLength: Int
  ) {
    let length = packetBlockLength(captured: captured)
    let padded = (captured + 3) & ~3
    destination.storeBytes(of: enhancedPacketType, as: UInt32.self)
    destination.storeBytes(of: UInt32(length), toByteOffset: 4, as: UInt32.self)
    destination.storeBytes(of: interface, toByteOffset: 8, as: UInt32.self)
    destination.storeBytes(
      of: UInt32(truncatingIfNeeded: timestamp >> 32), toByteOffset: 12, as: UInt32.self)
    destination.storeBytes(
      of: UInt32(truncatingIfNeeded: timestamp), toByteOffset: 16, as: UInt32.self)
    destination.storeBytes(of: UInt32(captured), toByteOffset: 20, as: UInt32.self)
    destination.storeBytes(of: UInt32(originalLength), toByteOffset: 24, as: UInt32.self)
    (destination + 28).copyMemory(from: frame, byteCount: captured)
    // Zero the padding, so no stale ring bytes end up in the file.
    for index in captured..<padded {
      destination.storeBytes(of: 0, toByteOffset: 28 + index, as: UInt8.self)
    }
    let options = 28 + padded
    destination.storeBytes(of: flagsOption, toByteOffset: options, as: UInt16.self)
    destination.storeBytes(of: UInt16(4), toByteOffset: options + 2, as: UInt16.self)
    destination.storeBytes(of: direction.rawValue, toByteOffset: options + 4, as: UInt32.self)
    // End of options.
    destination.storeBytes(of: UInt32(0), toByteOffset: options + 8, as: UInt32.self)
    destination.storeBytes(of: UInt32(length), toByteOffset: length - 4, as: UInt32.self)
  }

  /// The total length of the block that starts at `block` (its second word).
  @inline(__always)
  public static func blockLength(at block: UnsafeRawPointer) -> Int {
    Int(block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
  }

  /// A whole block: type, total length, `fill`'s body, total length again.
  private static func block(type: UInt32, _ fill: (inout [UInt8]) -> Void) -> [UInt8] {
    var body: [UInt8] = []
    fill(&body)
    let length = UInt32(12 + body.count)
    var bytes: [UInt8] = []
    append(type, to: &bytes)
    append(length, to: &bytes)
    bytes += body
    append(length, to: &bytes)
    return bytes
  }

  private static func append<Value: FixedWidthInteger>(_ value: Value, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value) { bytes += $0 }
  }

  /// An option: code, length, value padded to 4 bytes.
  private static func appendOption(_ code: UInt16, _ value: [UInt8], to bytes: inout [UInt8]) {
    append(code, to: &bytes)
    append(UInt16(value.count), to: &bytes)
    bytes += value
    bytes += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
  }
}
