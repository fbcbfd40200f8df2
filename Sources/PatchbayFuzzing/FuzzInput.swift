/// The fuzzer's bytes, read front to back. Every choice a target makes (a port,
/// a time step, where one frame ends) comes from here, so a run is a pure
/// function of its input and a kept input replays exactly.
///
/// Reading past the end gives zeros and empty chunks rather than failing: a
/// short input is still a valid (short) run, which keeps the fuzzer's
/// mutations cheap.
struct FuzzInput {
  private let bytes: UnsafeRawBufferPointer
  private var offset = 0

  /// Reads `bytes`, which must stay valid while the reader is used.
  init(_ bytes: UnsafeRawBufferPointer) {
    self.bytes = bytes
  }

  /// True once every byte was read.
  var isAtEnd: Bool { offset >= bytes.count }

  /// Bytes not read yet.
  var remainingCount: Int { max(bytes.count - offset, 0) }

  /// The next byte, or 0 past the end.
  mutating func byte() -> UInt8 {
    guard offset < bytes.count else { return 0 }
    defer { offset += 1 }
    return bytes[offset]
  }

  /// The next two bytes, big-endian.
  mutating func uint16() -> UInt16 {
    UInt16(byte()) << 8 | UInt16(byte())
  }

  /// The next four bytes, big-endian.
  mutating func uint32() -> UInt32 {
    UInt32(uint16()) << 16 | UInt32(uint16())
  }

  /// One bit's worth of choice: the low bit of the next byte.
  mutating func bool() -> Bool { byte() & 1 == 1 }

  /// The next length-prefixed chunk: a big-endian 16-bit length, then that many
  /// bytes (fewer when the input ends first). Views into the input: no copy.
  mutating func chunk() -> UnsafeRawBufferPointer {
    take(Int(uint16()))
  }

  /// Everything not read yet.
  mutating func rest() -> UnsafeRawBufferPointer { take(remainingCount) }

  /// The next `count` bytes (fewer when the input ends first).
  mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
    let start = min(offset, bytes.count)
    offset = min(start + count, bytes.count)
    return UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
  }
}
