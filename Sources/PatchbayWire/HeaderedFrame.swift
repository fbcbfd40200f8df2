/// A frame and the virtio-net header in front of it, in a buffer that may hold
/// room before the header: how a packet socket opened with PACKET_VNET_HDR
/// hands a received frame over.
///
/// Such a socket gives a frame's outer VLAN tag apart: the kernel strips it
/// (or the NIC never put it in the frame) and reports it in PACKET_AUXDATA.
/// `reinsertTag(_:)` puts it back where it was, in place, so the switch sees
/// the frame as it was on the wire. The view is checked when it is made, so
/// the edit needs no bounds checks of its own beyond the two it names.
public struct HeaderedFrame {
  /// The whole buffer, the room before the header included.
  public let buffer: UnsafeMutableRawBufferPointer
  /// Where the virtio-net header starts in `buffer`; the frame follows it.
  public private(set) var headerOffset: Int
  /// The frame's length, the header not counted.
  public private(set) var frameLength: Int

  /// Makes a view of the header at `headerOffset` in `buffer` and the
  /// `frameLength` bytes after it. Throws `badLength` when they do not lie
  /// inside `buffer`.
  public init(
    buffer: UnsafeMutableRawBufferPointer, headerOffset: Int, frameLength: Int
  ) throws(WireError) {
    // Step by step, so that no sum of two large values can overflow.
    guard headerOffset >= 0, frameLength >= 0, headerOffset <= buffer.count,
      buffer.count - headerOffset >= VirtioNetHeader.byteCount,
      buffer.count - headerOffset - VirtioNetHeader.byteCount >= frameLength
    else { throw .badLength }
    self.buffer = buffer
    self.headerOffset = headerOffset
    self.frameLength = frameLength
  }

  /// Where the frame starts in `buffer`.
  @inlinable @inline(__always)
  public var frameOffset: Int { headerOffset + VirtioNetHeader.byteCount }

  /// The frame's bytes.
  @inlinable @inline(__always)
  public var frame: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + frameOffset, count: frameLength)
  }

  /// The virtio-net header.
  @inlinable @inline(__always)
  public var header: VirtioNetHeader {
    VirtioNetHeader(unchecked: UnsafeRawPointer(buffer.baseAddress! + headerOffset))
  }

  /// Puts `tag` back after the frame's MAC addresses, where the kernel took
  /// it from: the header and the addresses move 4 bytes into the room before
  /// the header, the tag fills the gap, and the header's offsets past the
  /// addresses move with the rest of the frame (`VirtioNetHeader.shifted(by:)`).
  /// The frame ends where it ended.
  ///
  /// Throws `truncated` when the frame is shorter than its MAC addresses (the
  /// kernel could not have taken a tag from after them) and `badLength` when
  /// fewer than 4 bytes lie before the header; either way nothing changes.
  public mutating func reinsertTag(_ tag: VLANTag) throws(WireError) {
    let addresses = EthernetFrame.Offset.etherType
    guard frameLength >= addresses else { throw .truncated }
    guard headerOffset >= VLANTag.byteCount else { throw .badLength }
    let header = buffer.baseAddress! + headerOffset
    let moved = header - VLANTag.byteCount
    let shifted = VirtioNetHeader(unchecked: UnsafeRawPointer(header))
      .shifted(by: VLANTag.byteCount)
    // copyMemory moves like memmove: the two ranges overlap by 8 bytes.
    (moved + VirtioNetHeader.byteCount).copyMemory(
      from: header + VirtioNetHeader.byteCount, byteCount: addresses)
    shifted.store(to: moved)
    let tagStart = moved + VirtioNetHeader.byteCount + addresses
    tagStart.storeBytes(of: tag.protocolID.rawValue.bigEndian, as: UInt16.self)
    tagStart.storeBytes(of: tag.controlInformation.bigEndian, toByteOffset: 2, as: UInt16.self)
    headerOffset -= VLANTag.byteCount
    frameLength += VLANTag.byteCount
  }
}
