import Foundation
import Glibc
import Synchronization

/// What a capture counted, as the summary at its end reports it.
public struct CaptureStatistics: Sendable, Equatable, Codable {
  /// Frames written to the output.
  public var captured: UInt64
  /// Frames that crossed the ports but did not match the filter.
  public var filteredOut: UInt64
  /// Frames that matched but were lost because the reader was too slow (the ring was full).
  public var lost: UInt64

  /// Makes statistics.
  public init(captured: UInt64 = 0, filteredOut: UInt64 = 0, lost: UInt64 = 0) {
    self.captured = captured
    self.filteredOut = filteredOut
    self.lost = lost
  }
}

/// Where a capture's pcapng goes: files written by the daemon (`captures:`),
/// or the connection of a `patchbay capture` client.
public protocol CaptureOutput: AnyObject, Sendable {
  /// Writes the section header and interface blocks; false when the output is gone.
  func begin(header: [UInt8]) -> Bool
  /// Writes whole blocks; false when the output is gone.
  func write(blocks: UnsafeRawBufferPointer) -> Bool
  /// Waits up to `milliseconds` with nothing to write; false when the reader asked to stop.
  func idle(milliseconds: Int32) -> Bool
  /// Ends the capture (after its last block) with what it counted.
  func finish(_ statistics: CaptureStatistics)
}

/// Which frames of a port a capture takes.
public enum CaptureDirection: String, Sendable, CaseIterable {
  /// Received from the port.
  case `in`
  /// Sent to the port.
  case out
  /// Both.
  case both
}

/// One running capture: a ring the datapath fills and a writer thread that
/// empties it into the output, ending when told to, when the reader stops or
/// goes away, or after `count` frames.
public final class CaptureSession: @unchecked Sendable {
  // Sendable: the ring follows its own single-producer, single-consumer
  // protocol; `isStopping` is atomic; the rest is set in `init`.

  /// The session's number within its lab.
  public let id: Int
  let ring: CaptureRing
  let filter: PacketFilter?
  let interfaces: [Pcapng.Interface]
  let count: Int?
  private let output: CaptureOutput
  private let isStopping = Atomic<Bool>(false)
  private let finished = DispatchSemaphore(value: 0)
  private var thread: Thread?

  /// The default ring: 16 MiB, a quarter of a second of 500 Mbit/s.
  public static let defaultRingBytes = 16 << 20
  /// How long the writer sleeps when the ring is empty; the output is
  /// written within this of a frame's arrival, far inside a second.
  static let idleMilliseconds: Int32 = 20

  /// A capture of `interfaces` (in the order of their interface IDs) into
  /// `output`, keeping frames that match `filter` (nil: all), at most `count`.
  init(
    id: Int, interfaces: [Pcapng.Interface], filter: PacketFilter?, count: Int?,
    ringBytes: Int, output: CaptureOutput
  ) {
    self.id = id
    self.interfaces = interfaces
    self.filter = filter
    self.count = count
    self.output = output
    self.ring = CaptureRing(capacity: ringBytes)
  }

  /// Starts the writer thread. `detach` takes the session's taps out of the
  /// datapath; the thread calls it once, when the capture ends for any reason,
  /// before writing what is still in the ring.
  /// Returns once the thread has dropped its privileges, so the daemon's
  /// check of every thread never sees it privileged.
  func start(detach: @escaping @Sendable () -> Void) {
    let restricted = DispatchSemaphore(value: 0)
    let thread = Thread { [self] in
      // A writer thread needs no privilege: it writes files (as their
      // directory's owner) or a socket the daemon already holds.
      Privileges.restrictCaptureThread(writingIn: (output as? FileCaptureOutput)?.directory)
      restricted.signal()
      self.run()
      detach()
      self.drainAndFinish()
      self.finished.signal()
    }
    thread.name = "patchbay-capture"
    self.thread = thread
    thread.start()
    restricted.wait()
  }

  /// Ends the capture and waits until its output is complete.
  func stop() {
    isStopping.store(true, ordering: .releasing)
    guard thread != nil else { return }
    // Signalled again at once, so a second stop (tear-down racing a client's
    // own stop) returns too instead of waiting forever.
    finished.wait()
    finished.signal()
  }

  private var captured: UInt64 = 0
  private var isOutputGone = false

  private var remaining: Int { count.map { max(0, $0 - Int(captured)) } ?? .max }

  private func run() {
    guard output.begin(header: Pcapng.header(interfaces: interfaces)) else {
      isOutputGone = true
      return
    }
    while !isStopping.load(ordering: .acquiring) && remaining > 0 {
      if writeRun() { continue }
      if isOutputGone || !output.idle(milliseconds: CaptureSession.idleMilliseconds) { return }
    }
  }

  /// Writes one run of waiting blocks; false when there was none (or the output went away).
  private func writeRun() -> Bool {
    guard !isOutputGone, let (bytes, blocks) = ring.nextRun(maxBlocks: remaining) else {
      return false
    }
    guard output.write(blocks: bytes) else {
      isOutputGone = true
      return false
    }
    ring.release(bytes.count)
    captured += UInt64(blocks)
    return true
  }

  private func drainAndFinish() {
    while remaining > 0 && writeRun() {}
    output.finish(
      CaptureStatistics(captured: captured, filteredOut: ring.filteredCount, lost: ring.lostCount))
    ring.deallocate()
  }
}

/// A capture into a file or ring of files, written by the daemon.
public final class FileCaptureOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: used by one capture's writer thread only, after `init`.
  private var file: CaptureFile?
  /// Why writing failed, if it did.
  public private(set) var failure: String?
  /// The directory the files go to.
  let directory: String

  /// Creates `path` (or the first file of `ring`) and writes `header` at once,
  /// so a path that cannot be written fails the lab's set-up, not later.
  public init(path: String, ring: CaptureFile.Ring?, header: [UInt8]) throws(CaptureError) {
    file = try CaptureFile(path: path, ring: ring, header: header)
    directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
  }

  /// Does nothing: the header is in the file already.
  public func begin(header: [UInt8]) -> Bool { true }

  /// Writes the blocks to the file (rotating a ring between blocks).
  public func write(blocks: UnsafeRawBufferPointer) -> Bool {
    do {
      try file?.write(blocks: blocks)
      return true
    } catch {
      failure = error.description
      return false
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
