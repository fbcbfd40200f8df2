// Big-endian loads and stores at byte offsets of a raw buffer, public for the
// core's in-place header edits (NAT).
//
// Safety: these helpers do not check bounds themselves. Every caller is a view
// whose checked constructor has already proved that `offset + size <= count`
// for the fixed header fields it reads; payload access goes through slices
// whose bounds come from that same check.

extension UnsafeRawBufferPointer {
  /// The big-endian 16-bit value at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func bigEndianUInt16(at offset: Int) -> UInt16 {
    UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }

  /// The big-endian 32-bit value at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func bigEndianUInt32(at offset: Int) -> UInt32 {
    UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  /// The big-endian 64-bit value at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func bigEndianUInt64(at offset: Int) -> UInt64 {
    UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
  }
}

extension UnsafeMutableRawBufferPointer {
  /// Stores `value` big-endian at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func storeBigEndian(_ value: UInt16, at offset: Int) {
    storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
  }

  /// Stores `value` big-endian at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func storeBigEndian(_ value: UInt32, at offset: Int) {
    storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
  }

  /// Stores `value` big-endian at `offset` (unchecked: the caller proved the bounds).
  @inlinable @inline(__always)
  public func storeBigEndian(_ value: UInt64, at offset: Int) {
    storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
  }
}
