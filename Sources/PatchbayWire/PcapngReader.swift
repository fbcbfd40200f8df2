/// Reads back what `Pcapng` writes (host byte order): interface names from a
/// header, and packets from runs of blocks. For `patchbay capture`'s
/// one-line-per-frame output and for tests; not a general pcapng parser.
public enum PcapngReader {
  /// One Enhanced Packet Block.
  public struct Packet {
    /// Its interface ID (the port's index in the capture).
    public var interface: Int
    /// Nanoseconds since the epoch.
    public var timestamp: UInt64
    /// Which way it crossed the port (nil when the block has no flags).
    public var direction: Pcapng.Direction?
    /// The frame's length on the wire.
    public var originalLength: Int
    /// The bytes kept (valid while the blocks they were read from are).
    public var data: UnsafeRawBufferPointer
  }

  /// The `if_name` of each Interface Description Block, in order.
  public static func interfaceNames(in bytes: [UInt8]) -> [String] {
    bytes.withUnsafeBytes { buffer in
      var names: [String] = []
      forEachBlock(in: buffer) { type, block in
        guard type == Pcapng.interfaceDescriptionType else { return }
        var name = "?"
        forEachOption(in: block, from: 16) { code, value in
          if code == Pcapng.nameOption { name = String(decoding: value, as: UTF8.self) }
        }
        names.append(name)
      }
      return names
    }
  }

  /// The Enhanced Packet Blocks in `blocks`, in order.
  public static func packets(in blocks: UnsafeRawBufferPointer) -> [Packet] {
    var packets: [Packet] = []
    forEachBlock(in: blocks) { type, block in
      guard type == Pcapng.enhancedPacketType, block.count >= 32 else { return }
      let captured = Int(block.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
      guard 28 + captured <= block.count - 4 else { return }
      var direction: Pcapng.Direction?
      forEachOption(in: block, from: 28 + (captured + 3) & ~3) { code, value in
        if code == Pcapng.flagsOption, value.count == 4 {
          direction = Pcapng.Direction(rawValue: value.loadUnaligned(as: UInt32.self) & 3)
        }
      }
      let high = UInt64(block.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
      let low = UInt64(block.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
      packets.append(
        Packet(
          interface: Int(block.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
          timestamp: high << 32 | low, direction: direction,
          originalLength: Int(block.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
          data: UnsafeRawBufferPointer(rebasing: block[28..<28 + captured])))
    }
    return packets
  }

  private static func forEachBlock(
    in bytes: UnsafeRawBufferPointer, _ body: (UInt32, UnsafeRawBufferPointer) -> Void
  ) {
    var offset = 0
    while offset + 12 <= bytes.count {
      let type = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
      let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
      guard length >= 12, length % 4 == 0, offset + length <= bytes.count else { return }
      body(type, UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
      offset += length
    }
  }

  private static func forEachOption(
    in block: UnsafeRawBufferPointer, from start: Int,
    _ body: (UInt16, UnsafeRawBufferPointer) -> Void
  ) {
    var offset = start
    while offset + 4 <= block.count - 4 {
      let code = block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
      let length = Int(block.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
      if code == Pcapng.endOfOptions { return }
      guard offset + 4 + length <= block.count - 4 else { return }
      body(code, UnsafeRawBufferPointer(rebasing: block[offset + 4..<offset + 4 + length]))
      offset += 4 + (length + 3) & ~3
    }
  }
}
