import PatchbayCore
import PatchbayWire

/// What a handed-over frame is to the thread that takes it.
enum HandoffKind: UInt8 {
  /// Received on the port: it enters the switch there (taps, ingress limit, decision).
  case arriving
  /// Sent by the switch to the port: it takes the egress path there.
  case leaving
}

/// One frame handed from a datapath thread to the owner thread, as it lies in
/// the ring: the fields below, then the virtio-net header, then the frame.
struct HandoffHeader {
  // First, so a zero word marks the ring's wrap.
  var length: UInt32 = 0
  var kind: HandoffKind
  /// The global port it arrives on or leaves by.
  var global: Int32
  /// For a leaving frame: its classification (`IngressFrame.rawValue`).
  var classified: UInt64

  /// Bytes of an entry for a frame of `length` bytes, rounded to 8 so the next header is aligned.
  static func entrySize(frameLength length: Int) -> Int {
    (MemoryLayout<HandoffHeader>.stride + VirtioNetHeader.byteCount + length + 7) & ~7
  }
}

/// A single-producer, single-consumer ring of frames from one datapath thread
/// (the producer) to the thread that owns the ports it cannot serve itself
/// (the consumer; see `DatapathGroup`), on `SPSCByteRing`: frames are copied in
/// and read in place. An entry starts with its length, and no frame is empty,
/// so its first word is never the ring's wrap mark.
struct HandoffRing: Sendable {
  let ring: SPSCByteRing

  /// Bytes of entry storage, a power of two.
  var capacity: Int { ring.capacity }

  /// A ring of at least `capacity` bytes (rounded up to a power of two, room for a superframe).
  init(capacity requested: Int) {
    ring = SPSCByteRing(capacity: requested, minimum: 1 << 18)
  }

  /// Frees the memory; only once both threads are done with it.
  func deallocate() { ring.deallocate() }

  /// Producer: copies `frame` (its virtio-net header just before it) in with
  /// `header`; false when the ring is full (the caller counts the drop).
  func push(_ frame: UnsafeRawBufferPointer, _ header: HandoffHeader) -> Bool {
    guard frame.count > 0,
      let (destination, head) = ring.reserve(HandoffHeader.entrySize(frameLength: frame.count))
    else { return false }
    var stored = header
    stored.length = UInt32(frame.count)
    destination.storeBytes(of: stored, as: HandoffHeader.self)
    (destination + MemoryLayout<HandoffHeader>.stride).copyMemory(
      from: frame.baseAddress! - VirtioNetHeader.byteCount,
      byteCount: VirtioNetHeader.byteCount + frame.count)
    ring.commit(head)
    return true
  }

  /// Consumer: the oldest entry, its frame in place (virtio-net header just
  /// before it), or nil when none waits. Hand it back with `removeHead()`.
  func peek() -> (header: HandoffHeader, frame: UnsafeMutableRawBufferPointer)? {
    guard let (entry, _) = ring.oldest() else { return nil }
    let header = entry.load(as: HandoffHeader.self)
    let start = entry + MemoryLayout<HandoffHeader>.stride + VirtioNetHeader.byteCount
    return (header, UnsafeMutableRawBufferPointer(start: start, count: Int(header.length)))
  }

  /// Consumer: gives back the entry `peek` returned.
  func removeHead() {
    guard let (entry, _) = ring.oldest() else { return }
    let length = Int(entry.load(as: UInt32.self))
    ring.release(HandoffHeader.entrySize(frameLength: length))
  }
}
