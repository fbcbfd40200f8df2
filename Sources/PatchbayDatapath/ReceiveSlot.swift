import CLinuxNet
import PatchbayWire

extension pb_rx_slot {
  /// The tag the kernel stripped from this slot's frame (PACKET_AUXDATA), or
  /// nil when it took none. Without a protocol identifier the kernel means
  /// 802.1Q's 0x8100 (kernels before 3.14 never report one).
  @inline(__always)
  var strippedTag: VLANTag? {
    guard tag_status & UInt32(PB_RX_TAG_VALID) != 0 else { return nil }
    let protocolID =
      tag_status & UInt32(PB_RX_TAG_TPID_VALID) != 0 ? EtherType(rawValue: tag_tpid) : .vlan
    return VLANTag(protocolID: protocolID, controlInformation: tag_control)
  }

  /// The slot's frame as it was on the wire: a tag the kernel stripped is put
  /// back (`HeaderedFrame.reinsertTag`), in the room the receive left before
  /// the header, and `frame_offset` and `frame_length` follow it. A frame too
  /// short to have carried a tag after its addresses stays as it came, as it
  /// did when the shim re-inserted tags. Empty when the slot holds no frame.
  /// Call once per receive: the tag is consumed.
  @inline(__always)
  mutating func restoredFrame() -> UnsafeMutableRawBufferPointer {
    guard frame_length > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
    guard let tag = strippedTag else {
      // Most frames: as received, where the shim put them.
      return UnsafeMutableRawBufferPointer(
        start: UnsafeMutableRawPointer(data) + Int(frame_offset), count: Int(frame_length))
    }
    tag_status = 0
    let buffer = UnsafeMutableRawBufferPointer(start: data, count: Int(capacity))
    guard
      var view = try? HeaderedFrame(
        buffer: buffer, headerOffset: Int(frame_offset) - VirtioNetHeader.byteCount,
        frameLength: Int(frame_length))
    else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
    if (try? view.reinsertTag(tag)) != nil {
      frame_offset = UInt32(view.frameOffset)
      frame_length = UInt32(view.frameLength)
    }
    return view.frame
  }
}
