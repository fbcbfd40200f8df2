import PatchbayWire

/// The checks a frame read from a port's interface passes before the switch
/// looks at it: its virtio-net header must fit the frame, and a frame that is
/// not a GSO superframe must fit the port's MTU.
///
/// The kernel writes these headers for TAPs and packet sockets and keeps them
/// consistent; the check is there so that no header, whatever its origin, makes
/// the switch hand a port's kernel an offload request it would refuse (or
/// worse, act on) later. Pure: a few comparisons per frame.
public enum FrameAdmission {
  /// Ethernet header plus two VLAN tags: what a frame may carry beyond its MTU.
  public static let framingAllowance = EthernetFrame.headerLength + 2 * VLANTag.byteCount

  /// The longest frame a port with `mtu` accepts (its MTU plus `framingAllowance`).
  public static func maximumFrameLength(mtu: Int) -> Int { mtu + framingAllowance }

  /// Why a frame of `frameLength` bytes behind `header` must be dropped on
  /// arrival at a port whose frames may be `maximumLength` bytes long, or nil.
  ///
  /// - `badOffload`: a GSO type the switch does not know, a GSO frame with a
  ///   segment size of 0 or a header length past the frame's end, or a partial
  ///   checksum whose field lies past the frame's end.
  /// - `oversize`: longer than `maximumLength` without being a GSO superframe.
  @inline(__always)
  public static func verdict(header: VirtioNetHeader, frameLength: Int, maximumLength: Int)
    -> DropReason?
  {
    // The common frame (no offload request, within the MTU) costs two tests.
    if !header.requestsOffload {
      return frameLength > maximumLength ? .oversize : nil
    }
    return offloadVerdict(header: header, frameLength: frameLength, maximumLength: maximumLength)
  }

  @inline(never)
  private static func offloadVerdict(
    header: VirtioNetHeader, frameLength: Int, maximumLength: Int
  ) -> DropReason? {
    if header.flags & VirtioNetHeader.needsChecksum != 0 {
      let end = Int(header.checksumStart) + Int(header.checksumOffset) + 2
      if end > frameLength { return .badOffload }
    }
    guard header.isGSO else { return frameLength > maximumLength ? .oversize : nil }
    guard header.gsoType != nil, header.gsoSize > 0, Int(header.headerLength) <= frameLength
    else { return .badOffload }
    return nil
  }
}
