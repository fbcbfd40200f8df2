import Foundation
import Glibc

/// Where pcapng goes on disk: one file, a ring of files rotated like dumpcap's
/// `-b files:N -b filesize:SIZE`, or standard output.
///
/// Blocks are written with `write(2)` as they come, never held in a buffer of
/// our own, so a reader following the file sees each batch at once and a
/// process killed with SIGKILL leaves a file that reads up to its last write.
/// Every file of a ring starts with the section header and interface blocks,
/// so each one opens on its own.
public final class CaptureFile {
  /// The files of a ring: how many are kept and roughly how big each grows.
  public struct Ring: Sendable, Equatable {
    /// Files kept; the oldest is deleted when another would exceed this.
    public var files: Int
    /// A file is closed and the next one begun before it would grow past this (bytes).
    public var size: Int

    /// Makes a ring setting.
    public init(files: Int, size: Int) {
      self.files = files
      self.size = size
    }

    /// Parses `N:SIZE` (`--ring 4:16MiB`); nil when it is not that.
    public init?(_ text: String, size parse: (String) -> Int?) {
      let parts = text.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, let files = Int(parts[0]), files >= 2,
        let size = parse(String(parts[1])), size > 0
      else { return nil }
      self.init(files: files, size: size)
    }
  }

  private let path: String?
  private let ring: Ring?
  private let header: [UInt8]
  private var descriptor: Int32
  private var written = 0
  private var packetsInFile = 0
  private var sequence = 0
  /// The files written, oldest first (for a ring: those still kept).
  public private(set) var files: [String] = []

  /// Creates `path` (or the first file of `ring`) and writes `header` to it.
  public init(path: String, ring: Ring? = nil, header: [UInt8]) throws(CaptureError) {
    self.path = path
    self.ring = ring
    self.header = header
    self.descriptor = -1
    try open()
  }

  /// Writes to standard output (`-w -`): no rotation; the header goes first.
  public init(standardOutputWithHeader header: [UInt8]) throws(CaptureError) {
    self.path = nil
    self.ring = nil
    self.header = header
    self.descriptor = 1
    try writeOrThrow(header)
  }

  deinit { close() }

  /// Writes whole pcapng blocks, starting the ring's next file between blocks
  /// when this one would grow past its size.
  public func write(blocks: UnsafeRawBufferPointer) throws(CaptureError) {
    guard let ring else {
      try writeOrThrow(blocks)
      return
    }
    var start = 0
    var end = 0
    while end < blocks.count {
      let length = Pcapng.blockLength(at: blocks.baseAddress! + end)
      if packetsInFile > 0 && written + (end - start) + length > ring.size {
        try writeOrThrow(UnsafeRawBufferPointer(rebasing: blocks[start..<end]))
        try rotate()
        start = end
      }
      end += length
      packetsInFile += 1
    }
    try writeOrThrow(UnsafeRawBufferPointer(rebasing: blocks[start..<end]))
  }

  /// Closes the current file (standard output stays open).
  public func close() {
    if descriptor > 2 { Glibc.close(descriptor) }
    descriptor = -1
  }

  /// The name of a ring's file number `sequence`, dumpcap style:
  /// `web.pcapng` → `web_00001_20261125143000.pcapng`.
  static func ringFileName(_ path: String, sequence: Int, at date: Date) -> String {
    let url = URL(fileURLWithPath: path)
    let suffix = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
    let stem = url.deletingPathExtension().path
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMddHHmmss"
    let number = String(sequence)
    let padded = String(repeating: "0", count: max(0, 5 - number.count)) + number
    return "\(stem)_\(padded)_\(formatter.string(from: date))\(suffix)"
  }

  private func open() throws(CaptureError) {
    guard let path else { return }
    sequence += 1
    let name = ring == nil ? path : CaptureFile.ringFileName(path, sequence: sequence, at: Date())
    let fd = Glibc.open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw CaptureError("cannot write \(name): \(String(cString: strerror(errno)))")
    }
    descriptor = fd
    written = 0
    packetsInFile = 0
    files.append(name)
    try writeOrThrow(header)
    if let ring, files.count > ring.files {
      unlink(files.removeFirst())
    }
  }

  private func rotate() throws(CaptureError) {
    close()
    try open()
  }

  private func writeOrThrow(_ bytes: [UInt8]) throws(CaptureError) {
    let error = bytes.withUnsafeBytes { writeAll($0) }
    if let error { throw error }
  }

  private func writeOrThrow(_ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
    if let error = writeAll(bytes) { throw error }
  }

  /// Writes every byte; the failure, if any (a value, so callers inside
  /// closures need no typed throws).
  private func writeAll(_ bytes: UnsafeRawBufferPointer) -> CaptureError? {
    var offset = 0
    while offset < bytes.count {
      let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if count < 0 {
        if errno == EINTR { continue }
        return CaptureError("cannot write the capture: \(String(cString: strerror(errno)))")
      }
      offset += count
    }
    written += bytes.count
    return nil
  }
}
