import Foundation

/// What Patchbay reads of a qcow2 image's header: whether it is one, and the
/// backing file it names. Enough to refuse an image that would make QEMU open
/// a file the topology never named.
public struct QCOW2Header: Sendable, Equatable {
  /// The image's qcow2 version (2 or 3).
  public var version: UInt32
  /// The backing file the header names, as written there (relative names are
  /// relative to the image's folder), or nil when it names none.
  public var backingFile: String?

  /// The four bytes every qcow2 image starts with: "QFI" and 0xFB.
  static let magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]
  /// QEMU refuses longer backing file names.
  static let maximumBackingFileLength = 1023

  /// Parses the start of an image; nil when `bytes` is no qcow2 header.
  ///
  /// The header is big-endian: magic (4 bytes), version (4), the backing
  /// file name's offset (8) and length (4). `bytes` must reach the end of
  /// the name when there is one (`read(path:)` reads the first 64 KiB, and
  /// QEMU keeps the name within the first cluster).
  public init?(_ bytes: [UInt8]) {
    guard bytes.count >= 20, Array(bytes[0..<4]) == Self.magic else { return nil }
    func big(_ range: Range<Int>) -> UInt64 {
      bytes[range].reduce(0) { $0 << 8 | UInt64($1) }
    }
    version = UInt32(big(4..<8))
    guard version == 2 || version == 3 else { return nil }
    let offset = big(8..<16)
    let length = Int(big(16..<20))
    guard offset != 0, length != 0 else {
      backingFile = nil
      return
    }
    guard length <= Self.maximumBackingFileLength, offset <= UInt64(bytes.count - length) else {
      return nil
    }
    let start = Int(offset)
    backingFile = String(decoding: bytes[start..<start + length], as: UTF8.self)
  }

  /// The header of the image at `path`; nil when it cannot be read or is no qcow2.
  public static func read(path: String) -> QCOW2Header? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    guard let data = try? handle.read(upToCount: 65536) else { return nil }
    return QCOW2Header([UInt8](data))
  }
}
