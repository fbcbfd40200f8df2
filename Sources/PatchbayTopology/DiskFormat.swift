/// How a VM's disk image is stored, as QEMU's `format=` names it.
///
/// Always given to QEMU, never guessed from the image's first bytes: a guest
/// owns the bytes of a raw disk, and a qcow2 header it wrote there would
/// otherwise make the next boot open whatever backing file that header names.
public enum DiskFormat: String, Sendable, CaseIterable {
  /// A plain image: every byte is the guest's.
  case raw
  /// QEMU's copy-on-write image, with a header QEMU reads.
  case qcow2

  /// The format a file name implies: `.qcow2` (any case) is qcow2, anything else raw.
  public init(fileName path: String) {
    self = path.lowercased().hasSuffix(".qcow2") ? .qcow2 : .raw
  }
}
