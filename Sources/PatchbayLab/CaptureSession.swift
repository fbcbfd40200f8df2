import Foundation
import Glibc
import Logging
import PatchbayDatapath
import PatchbayWire
import Synchronization

/// What a capture counted, as the summary at its end reports it.
public struct CaptureStatistics: Sendable, Equatable, Codable {
  /// Frames written to the output.
  public var captured: UInt64
  /// Frames that crossed the ports but did not match the filter.
  public var filteredOut: UInt64
  /// Frames that matched but were lost because the reader was too slow (the ring was full).
  public var lost: UInt64
  /// Frames taken from the ring but lost because the output could not be
  /// written (a full disk).
  public var unwritten: UInt64

  /// Makes statistics.
  public init(
    captured: UInt64 = 0, filteredOut: UInt64 = 0, lost: UInt64 = 0, unwritten: UInt64 = 0
  ) {
    self.captured = captured
    self.filteredOut = filteredOut
    self.lost = lost
    self.unwritten = unwritten
  }
}

/// What became of one write to a capture's output.
public enum CaptureWrite: Sendable, Equatable {
  /// The blocks are written.
  case written
  /// They could not be written, for this reason (one line), after the
  /// first `writtenBlocks` of them; the output stays, and later writes try again.
  case failed(String, writtenBlocks: Int)
  /// The reader is gone: the capture ends.
  case gone
}

/// Where a capture's pcapng goes: files written by the daemon (`captures:`),
/// or the connection of a `patchbay capture` client.
public protocol CaptureOutput: AnyObject, Sendable {
  /// Writes the section header and interface blocks; false when the output is gone.
  func begin(header: [UInt8]) -> Bool
  /// Writes whole blocks.
  func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite
  /// Waits up to `milliseconds` with nothing to write; false when the reader asked to stop.
  func idle(milliseconds: Int32) -> Bool
  /// Ends the capture (after its last block) with what it counted.
  func finish(_ statistics: CaptureStatistics)
  /// Called from another thread when the writer did not finish in time (a
  /// reader that stopped reading): makes a write blocked on the reader
  /// return, so tear-down never waits on a reader.
  func abandon()
  /// Where the capture goes, for `status`: a file's path, or `stream`.
  var destination: String { get }
}

extension CaptureOutput {
  /// Nothing to unblock.
  public func abandon() {}
  /// A client's stream.
  public var destination: String { "stream" }
}

/// One running capture: a ring the datapath fills and a writer thread that
/// empties it into the output, ending when told to, when the reader stops or
/// goes away, or after `count` frames. An output that fails to write (a full
/// disk) does not end it: its frames are counted as unwritten, the failure
/// is in `state` and said once on standard error (the daemon's log), and
/// writing goes on as soon as the output takes blocks again.
public final class CaptureSession: @unchecked Sendable {
  // Sendable: the ring follows its own single-producer, single-consumer
  // protocol; `isStopping`, the counts and `failure` are atomic or locked;
  // the rest is set in `init` or only touched by the writer thread.

  /// The session's number within its lab.
  public let id: Int
  /// What it is called in `status` and the log: `capture web`, `client 3`.
  public let name: String
  let ring: CaptureRing
  let filter: PacketFilter?
  let interfaces: [Pcapng.Interface]
  let count: Int?
  private let output: CaptureOutput
  private let logger: Logger
  private let isStopping = Atomic<Bool>(false)
  private let finished = DispatchSemaphore(value: 0)
  private var thread: Thread?
  private let capturedCount = Atomic<UInt64>(0)
  private let unwrittenCount = Atomic<UInt64>(0)
  private let failure = Mutex<String?>(nil)

  /// The default ring: 16 MiB, a quarter of a second of 500 Mbit/s.
  public static let defaultRingBytes = 16 << 20
  /// How long the writer sleeps when the ring is empty; the output is
  /// written within this of a frame's arrival, far inside a second.
  static let idleMilliseconds: Int32 = 20
  /// How long `stop` waits for the writer before abandoning its output, and
  /// then again before giving up on it: tear-down is bounded by twice this.
  static let stopSeconds = 2.0

  /// A capture of `interfaces` (in the order of their interface IDs) into
  /// `output`, keeping frames that match `filter` (nil: all), at most `count`.
  init(
    id: Int, name: String? = nil, interfaces: [Pcapng.Interface], filter: PacketFilter?,
    count: Int?, ringBytes: Int, output: CaptureOutput, logger: Logger = .silent
  ) {
    self.logger = logger
    self.id = id
    self.name = name ?? "client \(id)"
    self.interfaces = interfaces
    self.filter = filter
    self.count = count
    self.output = output
    self.ring = CaptureRing(capacity: ringBytes)
  }

  // The ring is freed only once nothing can reach it: the datapath's taps
  // are gone (detach) and no `status` holds the session.
  deinit { ring.deallocate() }

  /// What the capture did so far, for `status`.
  public var state: CaptureState {
    CaptureState(
      name: name, destination: output.destination,
      failure: failure.withLock { $0 },
      statistics: CaptureStatistics(
        captured: capturedCount.load(ordering: .relaxed), filteredOut: ring.filteredCount,
        lost: ring.lostCount, unwritten: unwrittenCount.load(ordering: .relaxed)))
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
      // directory's owner, taken from the directory it holds open) or a
      // socket the daemon already holds.
      Privileges.restrictCaptureThread(
        writingAs: (output as? FileCaptureOutput)?.directory.ownerForWriterThread)
      restricted.signal()
      self.run()
      detach()
      self.drainAndFinish()
      let statistics = self.state.statistics
      self.logger.info(
        "capture: \(self.name) stopped: \(statistics.captured) frames captured, \(statistics.lost) lost, \(statistics.unwritten) unwritten",
        metadata: [
          "capture": "\(self.name)", "captured": "\(statistics.captured)",
          "lost": "\(statistics.lost)", "unwritten": "\(statistics.unwritten)",
        ])
      self.finished.signal()
    }
    thread.name = "patchbay-capture"
    self.thread = thread
    thread.start()
    restricted.wait()
  }

  /// Ends the capture and waits until its output is complete, but never on
  /// a reader: a writer still blocked after `stopSeconds` (a client stopped
  /// with SIGSTOP, or one that never reads) has its output abandoned, and
  /// after as long again it is left behind.
  func stop() { CaptureSession.stop([self]) }

  /// Stops `sessions` together: every one is told at once and they share
  /// the deadlines, so tear-down with many stalled readers still takes at
  /// most twice `stopSeconds`.
  static func stop(_ sessions: [CaptureSession]) {
    for session in sessions { session.isStopping.store(true, ordering: .releasing) }
    let running = sessions.filter { $0.thread != nil }
    let first = DispatchTime.now() + stopSeconds
    let late = running.filter { $0.finished.wait(timeout: first) == .timedOut }
    for session in late { session.output.abandon() }
    let second = DispatchTime.now() + stopSeconds
    for session in running {
      if late.contains(where: { $0 === session }),
        session.finished.wait(timeout: second) == .timedOut
      {
        session.report("its writer did not finish; left behind")
        continue
      }
      // Signalled again at once, so a second stop (tear-down racing a
      // client's own stop) returns too instead of waiting forever.
      session.finished.signal()
    }
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
    var written = blocks
    switch output.write(blocks: bytes) {
    case .gone:
      isOutputGone = true
      return false
    case .written:
      if let old = failure.withLock({ old in
        defer { old = nil }; return old
      }) {
        report("writing again (after: \(old))")
      }
    case .failed(let reason, let writtenBlocks):
      written = writtenBlocks
      unwrittenCount.add(UInt64(blocks - writtenBlocks), ordering: .relaxed)
      let isNew = failure.withLock { old in
        defer { old = reason }
        return old == nil
      }
      // Once per failure, not per frame: the next line is "writing again".
      if isNew { report("\(reason); its frames are counted as unwritten until it can write") }
    }
    ring.release(bytes.count)
    captured += UInt64(written)
    capturedCount.store(captured, ordering: .relaxed)
    return true
  }

  private func drainAndFinish() {
    while remaining > 0 && writeRun() {}
    output.finish(state.statistics)
  }

  /// One warning in the daemon's log.
  private func report(_ message: String) {
    logger.warning("\(name): \(message)", metadata: ["capture": .string(name)])
  }
}

/// A capture as `status` shows it.
public struct CaptureState: Sendable, Equatable {
  /// `capture web` (the topology's), `client 3` (a `patchbay capture`).
  public var name: String
  /// The file it writes, or `stream`.
  public var destination: String
  /// Why the output cannot be written now; nil while it writes.
  public var failure: String?
  /// What it counted so far.
  public var statistics: CaptureStatistics
}
