import PatchbayWire

/// The frames waiting in one port's egress shaping queue, first in first out,
/// in one preallocated block: queueing a frame is a copy, never an allocation.
///
/// Each entry is contiguous: a 32-byte record (entry size, frame length,
/// footprint), then `Datapath.headroom` bytes holding the virtio-net header
/// right before the frame, then the frame, padded to 8 bytes. An entry never
/// wraps: one that does not fit before the end starts over at offset 0, and a
/// zero size (or the end itself) tells the reader to do the same.
///
/// Safety: every pointer this type hands out lies inside `memory`. `reserve`
/// only succeeds for an entry that fits in the free span it picked (at the end,
/// or before `head` after wrapping), entries are written and read at 8-byte
/// aligned offsets, and the block is freed only by `deallocate()`, which the
/// owning datapath calls once, after its thread has stopped.
struct FrameRing {
  private static let recordSize = 32
  private static let sizeOffset = 0
  private static let lengthOffset = 4
  private static let bytesOffset = 8
  private static let packetsOffset = 16

  private let memory: UnsafeMutableRawPointer
  /// Bytes in the block.
  let capacity: Int
  private var head = 0
  private var tail = 0
  /// Frames queued.
  private(set) var count = 0

  /// A ring of at least `capacity` bytes.
  init(capacity: Int) {
    self.capacity = FrameRing.aligned(max(capacity, FrameRing.entrySize(frameLength: 0)))
    memory = .allocate(byteCount: self.capacity, alignment: 64)
  }

  /// Frees the block; the ring must not be used again.
  func deallocate() { memory.deallocate() }

  /// The bytes an entry for a frame of `frameLength` takes.
  @inline(__always)
  static func entrySize(frameLength: Int) -> Int {
    aligned(recordSize + Datapath.headroom + frameLength)
  }

  @inline(__always)
  private static func aligned(_ size: Int) -> Int { (size + 7) & ~7 }

  /// True when no frame waits.
  var isEmpty: Bool { count == 0 }

  /// Makes room at the tail for a frame of `frameLength` with `footprint` and
  /// returns where its first byte goes (the virtio-net header goes in the
  /// `VirtioNetHeader.byteCount` bytes before it); nil when the ring is full.
  @inline(__always)
  mutating func reserve(frameLength: Int, footprint: FrameFootprint) -> UnsafeMutableRawPointer? {
    let size = FrameRing.entrySize(frameLength: frameLength)
    var start: Int
    if count == 0 {
      head = 0
      tail = 0
      start = 0
      guard size <= capacity else { return nil }
    } else if tail > head {
      // Not wrapped: the free spans are after the tail and before the head.
      start = tail
      if start + size > capacity {
        // Not enough room before the end: leave a wrap mark and start over,
        // if the space before the head can hold the entry.
        guard size <= head else { return nil }
        if capacity - tail >= 8 { memory.storeBytes(of: 0, toByteOffset: tail, as: UInt32.self) }
        start = 0
      }
    } else {
      // Wrapped already: the free span runs from the tail to the head.
      start = tail
      guard start + size <= head else { return nil }
    }
    let entry = memory + start
    entry.storeBytes(of: UInt32(size), toByteOffset: FrameRing.sizeOffset, as: UInt32.self)
    entry.storeBytes(of: UInt32(frameLength), toByteOffset: FrameRing.lengthOffset, as: UInt32.self)
    entry.storeBytes(of: footprint.bytes, toByteOffset: FrameRing.bytesOffset, as: UInt64.self)
    entry.storeBytes(of: footprint.packets, toByteOffset: FrameRing.packetsOffset, as: UInt64.self)
    tail = start + size
    count += 1
    return entry + FrameRing.recordSize + Datapath.headroom
  }

  /// The head frame (its virtio-net header right before it), its entry size
  /// and its footprint; nil when empty.
  @inline(__always)
  mutating func peek() -> (frame: UnsafeRawBufferPointer, size: Int, footprint: FrameFootprint)? {
    guard count > 0 else { return nil }
    skipWrapMark()
    let entry = memory + head
    let size = Int(entry.load(fromByteOffset: FrameRing.sizeOffset, as: UInt32.self))
    let length = Int(entry.load(fromByteOffset: FrameRing.lengthOffset, as: UInt32.self))
    let footprint = FrameFootprint(
      bytes: entry.load(fromByteOffset: FrameRing.bytesOffset, as: UInt64.self),
      packets: entry.load(fromByteOffset: FrameRing.packetsOffset, as: UInt64.self))
    let frame = UnsafeRawBufferPointer(
      start: entry + FrameRing.recordSize + Datapath.headroom, count: length)
    return (frame, size, footprint)
  }

  /// Removes the head frame.
  @inline(__always)
  mutating func removeHead() {
    guard count > 0 else { return }
    skipWrapMark()
    head += Int(memory.load(fromByteOffset: head + FrameRing.sizeOffset, as: UInt32.self))
    count -= 1
    if count == 0 {
      head = 0
      tail = 0
    }
  }

  /// Moves the head to 0 when it stands on a wrap mark or at the very end.
  @inline(__always)
  private mutating func skipWrapMark() {
    if head + 8 > capacity || memory.load(fromByteOffset: head, as: UInt32.self) == 0 { head = 0 }
  }
}
