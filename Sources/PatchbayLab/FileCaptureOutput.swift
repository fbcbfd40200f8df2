import Dispatch
import Glibc
import PatchbayDatapath

/// A capture into a file or ring of files, written by the daemon (a
/// topology's `captures:`), in a directory held open (see `CaptureDirectory`).
///
/// A write that fails (a full disk) does not end the capture: the file is
/// cut back to its last whole block, the session counts the frames as
/// unwritten, and writing is tried again once a second, so a capture whose
/// disk gets room again goes on by itself.
public final class FileCaptureOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: used by one capture's writer thread only, after `init`.
  private var file: CaptureFile?
  /// The directory the files go to.
  let directory: CaptureDirectory
  /// The file (or a ring's first file) as the topology names it, resolved.
  public let destination: String
  private var failure: String?
  private var failedAt: UInt64 = 0

  /// How long after a failed write the next attempt is made (nanoseconds).
  static let retryNanoseconds: UInt64 = 1_000_000_000

  /// Creates `name` (or the first file of `ring`) in `directory` and writes
  /// `header` at once, so a path that cannot be written fails the lab's
  /// set-up, not later.
  public init(directory: CaptureDirectory, name: String, ring: CaptureFile.Ring?, header: [UInt8])
    throws(CaptureError)
  {
    self.directory = directory
    self.destination =
      directory.path.hasSuffix("/") ? directory.path + name : directory.path + "/" + name
    file = try CaptureFile(directory: directory, name: name, ring: ring, header: header)
  }

  /// Does nothing: the header is in the file already.
  public func begin(header: [UInt8]) -> Bool { true }

  /// Writes the blocks to the file (rotating a ring between blocks).
  public func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite {
    guard let file else { return .gone }
    let now = DispatchTime.now().uptimeNanoseconds
    if let failure, now &- failedAt < FileCaptureOutput.retryNanoseconds {
      return .failed(failure, writtenBlocks: 0)
    }
    do {
      try file.write(blocks: blocks)
      failure = nil
      return .written
    } catch {
      failure = error.description
      failedAt = now
      return .failed(error.description, writtenBlocks: file.lastWriteBlocks)
    }
  }

  /// Sleeps: a file never asks to stop.
  public func idle(milliseconds: Int32) -> Bool {
    usleep(UInt32(milliseconds) * 1000)
    return true
  }

  /// Closes the file; everything is in it already.
  public func finish(_ statistics: CaptureStatistics) {
    file?.close()
    file = nil
  }
}
