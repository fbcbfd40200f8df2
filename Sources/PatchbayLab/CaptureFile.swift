import Foundation
import Glibc
import PatchbayDatapath
import PatchbayWire

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

  private let directory: CaptureDirectory?
  private let name: String
  private let ring: Ring?
  private let header: [UInt8]
  private var descriptor: Int32
  private var written = 0
  private var packetsInFile = 0
  private var sequence = 0
  /// True while the current file lacks its header (a write of it failed).
  private var needsHeader = false
  /// The files written, oldest first (for a ring: those still kept).
  public private(set) var files: [String] = []
  /// Blocks the last `write(blocks:)` put in files, also when it then failed.
  public private(set) var lastWriteBlocks = 0

  /// Creates `path` (or the first file of `ring`) and writes `header` to it,
  /// as the caller (`patchbay capture -w FILE`); a symlink at `path` is not followed.
  public init(path: String, ring: Ring? = nil, header: [UInt8]) throws(CaptureError) {
    let url = URL(fileURLWithPath: path)
    self.directory = try CaptureDirectory.open(
      callersDirectory: url.deletingLastPathComponent().path, for: path)
    self.name = url.lastPathComponent
    self.ring = ring
    self.header = header
    self.descriptor = -1
    try open()
  }

  /// Creates `name` (or the first file of `ring`) in `directory`, as that
  /// directory's identity, and writes `header` to it.
  public init(directory: CaptureDirectory, name: String, ring: Ring? = nil, header: [UInt8])
    throws(CaptureError)
  {
    self.directory = directory
    self.name = name
    self.ring = ring
    self.header = header
    self.descriptor = -1
    try open()
  }

  /// Writes to standard output (`-w -`): no rotation; the header goes first.
  public init(standardOutputWithHeader header: [UInt8]) throws(CaptureError) {
    self.directory = nil
    self.name = "-"
    self.ring = nil
    self.header = header
    self.descriptor = 1
    try writeOrThrow(header)
  }

  deinit { close() }

  /// Writes whole pcapng blocks, starting the ring's next file between blocks
  /// when this one would grow past its size. When a write fails, the file is
  /// cut back to its last whole block, so it stays readable, and the next
  /// call tries again (a header first, if the file lacks it).
  public func write(blocks: UnsafeRawBufferPointer) throws(CaptureError) {
    lastWriteBlocks = 0
    guard let ring, directory != nil else {
      try writeBlocks(blocks, count: CaptureFile.blockCount(blocks))
      return
    }
    guard
      let runs = Pcapng.ringRuns(
        blocks, fileSize: ring.size, headerSize: header.count, bytesInFile: written,
        blocksInFile: packetsInFile)
    else { throw CaptureError("cannot write the capture: a batch that is not whole pcapng blocks") }
    for run in runs {
      if run.startsFile { try rotate() }
      try writeBlocks(UnsafeRawBufferPointer(rebasing: blocks[run.range]), count: run.blocks)
    }
  }

  /// Closes the current file (standard output stays open).
  public func close() {
    if descriptor > 2 { Glibc.close(descriptor) }
    descriptor = -1
  }

  /// The name of a ring's file number `sequence`, dumpcap style:
  /// `web.pcapng` → `web_00001_20261125143000.pcapng`.
  static func ringFileName(_ name: String, sequence: Int, at date: Date) -> String {
    let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }
    let stem = dot.map { String(name[..<$0]) } ?? name
    let suffix = dot.map { String(name[$0...]) } ?? ""
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMddHHmmss"
    let number = String(sequence)
    let padded = String(repeating: "0", count: max(0, 5 - number.count)) + number
    return "\(stem)_\(padded)_\(formatter.string(from: date))\(suffix)"
  }

  private func open() throws(CaptureError) {
    guard let directory else { return }
    sequence += 1
    let file = ring == nil ? name : CaptureFile.ringFileName(name, sequence: sequence, at: Date())
    descriptor = try directory.createFile(file)
    written = 0
    packetsInFile = 0
    files.append(fullPath(file))
    needsHeader = true
    try writeHeaderIfNeeded()
    if let ring, files.count > ring.files {
      let oldest = files.removeFirst()
      directory.removeFile(URL(fileURLWithPath: oldest).lastPathComponent)
    }
  }

  /// How many whole blocks `bytes` holds.
  private static func blockCount(_ bytes: UnsafeRawBufferPointer) -> Int {
    Pcapng.ringRuns(bytes, fileSize: .max, headerSize: 0, bytesInFile: 0, blocksInFile: 0)?
      .reduce(0) { $0 + $1.blocks } ?? 0
  }

  private func fullPath(_ file: String) -> String {
    guard let directory else { return file }
    return directory.path.hasSuffix("/") ? directory.path + file : directory.path + "/" + file
  }

  private func rotate() throws(CaptureError) {
    close()
    try open()
  }

  private func writeHeaderIfNeeded() throws(CaptureError) {
    guard needsHeader else { return }
    try writeOrThrow(header)
    needsHeader = false
  }

  /// Writes `count` whole blocks, cutting the file back to what it held when they do not all fit.
  private func writeBlocks(_ bytes: UnsafeRawBufferPointer, count: Int) throws(CaptureError) {
    if descriptor < 0 { try open() }
    try writeHeaderIfNeeded()
    if let error = writeAll(bytes, keepingWholeBlocks: true) {
      packetsInFile += keptBlocks
      lastWriteBlocks += keptBlocks
      throw error
    }
    packetsInFile += count
    lastWriteBlocks += count
  }

  /// Blocks a failed `writeAll(_:keepingWholeBlocks: true)` left in the file.
  private var keptBlocks = 0

  private func writeOrThrow(_ bytes: [UInt8]) throws(CaptureError) {
    let error = bytes.withUnsafeBytes { writeAll($0) }
    if let error { throw error }
  }

  private func writeOrThrow(_ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
    if let error = writeAll(bytes) { throw error }
  }

  /// Writes every byte; the failure, if any (a value, so callers inside
  /// closures need no typed throws).
  private func writeAll(_ bytes: UnsafeRawBufferPointer, keepingWholeBlocks: Bool = false)
    -> CaptureError?
  {
    var offset = 0
    while offset < bytes.count {
      let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if count < 0 {
        if errno == EINTR { continue }
        let reason = String(cString: strerror(errno))
        // Whole blocks only: the file keeps the blocks that reached it whole
        // (a full disk takes what fits), and is cut back before the rest.
        var kept = 0
        keptBlocks = 0
        if keepingWholeBlocks {
          while kept + 12 <= offset {
            let length = Pcapng.blockLength(at: bytes.baseAddress! + kept)
            guard length >= 12, kept + length <= offset else { break }
            kept += length
            keptBlocks += 1
          }
        }
        if descriptor > 2 && directory != nil { _ = ftruncate(descriptor, off_t(written + kept)) }
        written += kept
        return CaptureError("cannot write \(files.last ?? "the capture"): \(reason)")
      }
      offset += count
    }
    written += bytes.count
    return nil
  }
}
