import Foundation

/// A small, valid qcow2 image (version 2, 64 KiB clusters, empty), as QEMU
/// would open it: header, refcount table, refcount block and L1 table in the
/// first four clusters. The VM tests write one into a raw disk to check that
/// Patchbay never lets its header choose a file.
enum QCOW2Image {
  static let clusterSize = 65536

  /// The image's bytes, of `size` virtual bytes, naming `backing` as its backing file.
  static func bytes(size: UInt64 = 1 << 30, backing: String? = nil) -> Data {
    var image = [UInt8](repeating: 0, count: 4 * clusterSize)
    func put(_ value: UInt64, _ count: Int, at offset: Int) {
      for index in 0..<count {
        image[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - index)))
      }
    }
    let name = Array((backing ?? "").utf8)
    image.replaceSubrange(0..<4, with: [0x51, 0x46, 0x49, 0xFB])
    put(2, 4, at: 4)  // version
    put(backing == nil ? 0 : 0x100, 8, at: 8)  // backing file name offset
    put(UInt64(name.count), 4, at: 16)  // and length
    put(16, 4, at: 20)  // cluster bits
    put(size, 8, at: 24)
    put(2, 4, at: 36)  // L1 entries: each covers 512 MiB
    put(UInt64(3 * clusterSize), 8, at: 40)  // L1 table
    put(UInt64(clusterSize), 8, at: 48)  // refcount table
    put(1, 4, at: 56)  // its clusters
    image.replaceSubrange(0x100..<0x100 + name.count, with: name)
    put(UInt64(2 * clusterSize), 8, at: clusterSize)  // the one refcount block
    for cluster in 0..<4 { put(1, 2, at: 2 * clusterSize + 2 * cluster) }
    return Data(image)
  }
}
