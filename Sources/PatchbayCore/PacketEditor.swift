import PatchbayWire

// Safety: an editor is made only by the router after it checked that the IPv4
// header (`ip ..< ip + 20`) and the transport fields it edits (ports, checksum)
// lie inside `bytes`; every store below is at one of those checked offsets.

/// Edits addresses, ports and TTL of an IPv4 packet in place, keeping every
/// checksum right by incremental update (RFC 1624) instead of recomputing it.
///
/// A transport checksum left partial for offload (virtio-net NEEDS_CSUM) holds
/// the uncomplemented pseudo-header sum: an address change adjusts that sum the
/// other way round, and a port change none at all, since whoever completes the
/// checksum sums the ports as they are then.
struct PacketEditor {
  let bytes: UnsafeMutableRawBufferPointer
  /// Offset of the IPv4 header.
  let ip: Int
  /// Offset of the transport checksum, nil when there is none to keep (UDP
  /// sent without one, or a quoted header cut before it).
  let checksum: Int?
  /// True when the transport checksum covers the pseudo-header (TCP, UDP).
  let coversAddresses: Bool
  /// True when the transport checksum is left partial for offload.
  let isPartial: Bool
  /// True for UDP, whose checksum 0 means none and so is sent as 0xffff.
  let isUDP: Bool

  @inline(__always)
  func load16(_ offset: Int) -> UInt16 { UnsafeRawBufferPointer(bytes).bigEndianUInt16(at: offset) }

  @inline(__always)
  func load32(_ offset: Int) -> UInt32 { UnsafeRawBufferPointer(bytes).bigEndianUInt32(at: offset) }

  /// Sets the source (`ip + 12`) or destination (`ip + 16`) address at `offset`.
  @inline(__always)
  func setAddress(at offset: Int, to address: IPv4Address) {
    let old = load32(offset)
    let new = address.rawValue
    guard old != new else { return }
    bytes.storeBigEndian(new, at: offset)
    let header = ip + IPv4Packet.Offset.headerChecksum
    bytes.storeBigEndian(InternetChecksum.update(load16(header), old: old, new: new), at: header)
    guard coversAddresses, let checksum else { return }
    let value = load16(checksum)
    if isPartial {
      bytes.storeBigEndian(~InternetChecksum.update(~value, old: old, new: new), at: checksum)
    } else if !(isUDP && value == 0) {
      store(InternetChecksum.update(value, old: old, new: new), at: checksum)
    }
  }

  /// Sets the 16-bit port (or ICMP identifier) at `offset`.
  @inline(__always)
  func setPort(at offset: Int, to port: UInt16) {
    let old = load16(offset)
    guard old != port else { return }
    bytes.storeBigEndian(port, at: offset)
    guard !isPartial, let checksum else { return }
    let value = load16(checksum)
    if isUDP && value == 0 { return }
    store(InternetChecksum.update(value, old: old, new: port), at: checksum)
  }

  /// Takes one from the TTL; false (and nothing changed) when it would reach zero.
  @inline(__always)
  func decrementTimeToLive() -> Bool {
    let offset = ip + IPv4Packet.Offset.timeToLive
    let ttl = bytes[offset]
    guard ttl > 1 else { return false }
    let word = load16(offset)
    bytes[offset] = ttl - 1
    let header = ip + IPv4Packet.Offset.headerChecksum
    bytes.storeBigEndian(
      InternetChecksum.update(load16(header), old: word, new: word &- 0x100), at: header)
    return true
  }

  /// Stores an updated transport checksum. UDP sends 0 as 0xffff (0 means
  /// none). So does ICMP, whose checksum covers only the message: RFC 1624's
  /// update yields 0 where a message of all zero bytes (an echo reply with
  /// identifier, sequence and payload 0) needs 0xffff, and 0xffff is right
  /// whenever 0 is. (A TCP or UDP header is never all zero bytes.)
  @inline(__always)
  private func store(_ checksum: UInt16, at offset: Int) {
    bytes.storeBigEndian(
      (isUDP || !coversAddresses) && checksum == 0 ? 0xFFFF : checksum, at: offset)
  }
}
