import Foundation
import Glibc
import Synchronization

/// A log in the lab's state directory that never holds more than `cap` bytes,
/// plus one rotated `PATH.1` of at most as much: the state directory is in
/// /run, in RAM, and a guest's console or a host's program decides how much
/// it prints.
///
/// Both files are opened once, by root, before the daemon drops its
/// privileges; rotating copies the current file into `.1` and empties it in
/// place, so it needs no right to create or rename files in the folder
/// afterwards. A follower (`patchbay console`) sees the file shrink and
/// starts over from its beginning, as `tail -F` does.
final class CappedLog: @unchecked Sendable {
  // Sendable: the descriptors never change; sizes and counters are behind a Mutex.

  /// The current file's path.
  let path: String
  /// The most bytes each of the two files holds.
  let cap: Int
  private let current: Int32
  private let previous: Int32
  private struct Counters {
    var size = 0
    var discarded: UInt64 = 0
  }
  private let counters = Mutex(Counters())

  /// Creates (or empties) `path` and `path.1`, not following a symlink at either.
  init(path: String, cap: Int) throws(LabError) {
    let flags = O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC
    let current = open(path, flags, 0o600)
    guard current >= 0 else {
      throw LabError("cannot create \(path): \(String(cString: strerror(errno)))")
    }
    let previous = open(path + ".1", flags, 0o600)
    guard previous >= 0 else {
      let reason = String(cString: strerror(errno))
      close(current)
      throw LabError("cannot create \(path).1: \(reason)")
    }
    self.path = path
    self.cap = max(cap, 4096)
    self.current = current
    self.previous = previous
  }

  deinit {
    close(current)
    close(previous)
  }

  /// Bytes dropped so far: what `.1` held each time it was overwritten.
  var discarded: UInt64 { counters.withLock { $0.discarded } }

  /// Appends `bytes`, rotating whenever the current file is full.
  func append(_ bytes: UnsafeRawBufferPointer) {
    counters.withLock { counters in
      var rest = bytes
      while !rest.isEmpty {
        if counters.size >= cap { rotate(&counters) }
        let chunk = UnsafeRawBufferPointer(rebasing: rest.prefix(cap - counters.size))
        let written = pwrite(current, chunk.baseAddress, chunk.count, off_t(counters.size))
        if written < 0 && errno == EINTR { continue }
        // A write that fails (it cannot in tmpfs short of ENOSPC) drops the rest.
        guard written > 0 else {
          counters.discarded += UInt64(rest.count)
          return
        }
        counters.size += written
        rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(written))
      }
    }
  }

  /// Appends `text`.
  func append(_ text: String) {
    var text = text
    text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
  }

  /// Moves the full current file to `.1` (what `.1` held is discarded and
  /// counted) and starts the current file again with a line that says so.
  private func rotate(_ counters: inout Counters) {
    var old = stat()
    if fstat(previous, &old) == 0 { counters.discarded += UInt64(old.st_size) }
    ftruncate(previous, 0)
    var buffer = [UInt8](repeating: 0, count: 65536)
    var offset = 0
    while offset < counters.size {
      let count = buffer.withUnsafeMutableBytes {
        pread(current, $0.baseAddress, min($0.count, counters.size - offset), off_t(offset))
      }
      guard count > 0 else { break }
      _ = buffer.withUnsafeBytes { pwrite(previous, $0.baseAddress, count, off_t(offset)) }
      offset += count
    }
    ftruncate(current, 0)
    let note =
      "[patchbay: this log keeps at most \(cap) bytes; the \(counters.size) before this line are in \((path as NSString).lastPathComponent).1"
      + (counters.discarded > 0 ? ", \(counters.discarded) older ones were discarded]\n" : "]\n")
    counters.size = note.utf8.count
    _ = note.withCString { pwrite(current, $0, counters.size, 0) }
  }
}
