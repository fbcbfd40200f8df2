import PatchbayWire

/// The `retag` target: a packet socket's received frame, its virtio-net header
/// and the VLAN tag the kernel stripped from it, put back by
/// `HeaderedFrame.reinsertTag` as the datapath does for every tagged frame a
/// packet-socket port or uplink receives.
///
/// The input is a room byte (bytes before the header, 0 to 23), the tag (tag
/// protocol identifier and control information, big-endian, any values), the
/// 10-byte header and the frame. The edit must agree with an independent
/// description of it, the one the C shim carried before (header, addresses, tag,
/// rest; `csum_start` and a GSO frame's `hdr_len` 4 further when they pointed
/// past the addresses), and touch nothing before the moved header; a frame
/// shorter than its addresses, or less than 4 bytes of room, is refused with the
/// buffer untouched. Shifting the header back by 4 gives the header that came
/// (offsets that would wrap aside).
public func fuzzRetag(_ bytes: UnsafeRawBufferPointer) {
  var input = FuzzInput(bytes)
  let room = Int(input.byte()) % 24
  let tag = VLANTag(
    protocolID: EtherType(rawValue: input.uint16()), controlInformation: input.uint16())
  let rawHeader = Array(input.take(VirtioNetHeader.byteCount))
  guard rawHeader.count == VirtioNetHeader.byteCount else { return }
  let frame = Array(input.rest())
  let before = (0..<room).map { UInt8(truncatingIfNeeded: 0xA5 &+ $0) } + rawHeader + frame
  var buffer = before
  let outcome = buffer.withUnsafeMutableBytes { raw in
    Retag.reinsert(tag, into: raw, room: room, frameLength: frame.count)
  }
  switch outcome {
  case .refused(let error):
    invariant(buffer == before, "a refused re-insertion changed the buffer")
    if frame.count < EthernetFrame.Offset.etherType {
      invariant(error == .truncated, "a frame shorter than its addresses is truncated")
    } else {
      invariant(room < VLANTag.byteCount && error == .badLength, "refused with room and addresses")
    }
  case .reinserted(let headerOffset, let frameLength):
    invariant(frame.count >= EthernetFrame.Offset.etherType, "a short frame got a tag")
    invariant(room >= VLANTag.byteCount, "a tag went in without room")
    invariant(headerOffset == room - VLANTag.byteCount, "header offset")
    invariant(frameLength == frame.count + VLANTag.byteCount, "frame length")
    let expected =
      Array(before[0..<headerOffset]) + Retag.shiftedHeaderBytes(rawHeader)
      + Array(frame[0..<12]) + Retag.bytes(of: tag) + Array(frame[12...])
    invariant(buffer == expected, "re-inserted bytes differ from the shim's description")
    Retag.checkShiftBack(rawHeader, moved: Array(buffer[headerOffset..<(headerOffset + 10)]))
  }
}

/// The steps of the `retag` target, named.
private enum Retag {
  /// What a re-insertion did.
  enum Outcome {
    /// The tag went in; where the header and the frame now are.
    case reinserted(headerOffset: Int, frameLength: Int)
    /// The view refused it.
    case refused(WireError)
  }

  /// Makes the view (which must accept its own buffer's layout) and re-inserts `tag`.
  static func reinsert(
    _ tag: VLANTag, into raw: UnsafeMutableRawBufferPointer, room: Int, frameLength: Int
  ) -> Outcome {
    guard var view = try? HeaderedFrame(buffer: raw, headerOffset: room, frameLength: frameLength)
    else {
      invariant(false, "a view of its own buffer's layout was refused")
      return .refused(.badLength)
    }
    invariant(view.frameOffset == room + VirtioNetHeader.byteCount, "frame offset")
    do {
      try view.reinsertTag(tag)
    } catch {
      invariant(view.headerOffset == room && view.frameLength == frameLength, "refused but moved")
      return .refused(error)
    }
    invariant(view.frame.count == view.frameLength, "frame view length")
    return .reinserted(headerOffset: view.headerOffset, frameLength: view.frameLength)
  }

  /// The tag's 4 bytes on the wire.
  static func bytes(of tag: VLANTag) -> [UInt8] {
    let tpid = tag.protocolID.rawValue
    let control = tag.controlInformation
    return [
      UInt8(tpid >> 8), UInt8(tpid & 0xFF), UInt8(control >> 8), UInt8(control & 0xFF),
    ]
  }

  /// The header's bytes after a 4-byte insertion after the addresses, computed
  /// from the bytes as the C shim did: little-endian `hdr_len` (bytes 2-3) moves
  /// for a GSO type other than 0 (the ECN bit aside) when it is at least 12,
  /// `csum_start` (bytes 6-7) when NEEDS_CSUM is set and it is at least 12.
  static func shiftedHeaderBytes(_ header: [UInt8]) -> [UInt8] {
    var out = header
    let isGSO = header[1] & 0x7F != 0
    let headerLength = UInt16(header[2]) | UInt16(header[3]) << 8
    let checksumStart = UInt16(header[6]) | UInt16(header[7]) << 8
    if isGSO && headerLength >= 12 {
      let moved = headerLength &+ 4
      out[2] = UInt8(moved & 0xFF)
      out[3] = UInt8(moved >> 8)
    }
    if header[0] & 1 != 0 && checksumStart >= 12 {
      let moved = checksumStart &+ 4
      out[6] = UInt8(moved & 0xFF)
      out[7] = UInt8(moved >> 8)
    }
    return out
  }

  /// Shifting the moved header back by 4 (a tag popped again) gives the header
  /// that came, unless an offset wrapped past 65535.
  static func checkShiftBack(_ original: [UInt8], moved: [UInt8]) {
    let came = original.withUnsafeBytes { VirtioNetHeader(unchecked: $0.baseAddress!) }
    let now = moved.withUnsafeBytes { VirtioNetHeader(unchecked: $0.baseAddress!) }
    invariant(now == came.shifted(by: VLANTag.byteCount), "the header is the shifted one")
    guard came.checksumStart < UInt16.max - 3, came.headerLength < UInt16.max - 3 else { return }
    invariant(now.shifted(by: -VLANTag.byteCount) == came, "shifting back gives the header back")
  }
}
