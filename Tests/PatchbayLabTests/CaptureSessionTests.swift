import Foundation
import Glibc
import PatchbayWire
import Synchronization
import Testing

@testable import PatchbayDatapath
@testable import PatchbayLab

/// An output that records what a capture session gives it.
final class RecordingOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: the session's thread writes, the test reads after `stop()` returned.
  var header: [UInt8] = []
  var blocks: [UInt8] = []
  var statistics: CaptureStatistics?
  let stopAsked = Atomic<Bool>(false)

  func begin(header: [UInt8]) -> Bool {
    self.header = header
    return true
  }

  func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite {
    self.blocks += blocks
    return .written
  }

  func idle(milliseconds: Int32) -> Bool { !stopAsked.load(ordering: .acquiring) }

  func finish(_ statistics: CaptureStatistics) { self.statistics = statistics }
}

/// A capture session's writer: header first, every block in order, the count
/// limit, what remains in the ring written after the end, and the statistics.
@Suite struct CaptureSessionTests {
  let interfaces = [Pcapng.Interface(name: "core/h1", description: "test", snaplen: 100)]

  func push(_ ring: CaptureRing, fill: UInt8) {
    let frame = [UInt8](repeating: fill, count: 60)
    let (destination, head) = ring.reserve(Pcapng.packetBlockLength(captured: 60))!
    frame.withUnsafeBytes {
      Pcapng.writePacketBlock(
        to: destination, interface: 0, timestamp: UInt64(fill), direction: .inbound,
        frame: $0.baseAddress!, captured: 60, originalLength: 60)
    }
    ring.commit(head)
  }

  func fills(_ output: RecordingOutput) -> [UInt64] {
    output.blocks.withUnsafeBytes { PcapngReader.packets(in: $0).map(\.timestamp) }
  }

  @Test func writesTheHeaderThenEveryBlockAndEndsWithTheCounts() {
    let output = RecordingOutput()
    let session = CaptureSession(
      id: 1, interfaces: interfaces, filter: nil, count: nil, ringBytes: 1 << 17, output: output)
    let detached = Atomic<Int>(0)
    // Frames already waiting when the writer starts, and some after.
    for fill in 1...3 { push(session.ring, fill: UInt8(fill)) }
    session.ring.countFiltered()
    session.start { detached.add(1, ordering: .relaxed) }
    for fill in 4...6 { push(session.ring, fill: UInt8(fill)) }
    session.stop()
    #expect(detached.load(ordering: .relaxed) == 1)
    #expect(output.header == Pcapng.header(interfaces: interfaces))
    #expect(fills(output) == [1, 2, 3, 4, 5, 6])
    #expect(output.statistics == CaptureStatistics(captured: 6, filteredOut: 1, lost: 0))
  }

  @Test func stopsByItselfAfterCountFrames() {
    let output = RecordingOutput()
    let session = CaptureSession(
      id: 2, interfaces: interfaces, filter: nil, count: 4, ringBytes: 1 << 17, output: output)
    for fill in 1...10 { push(session.ring, fill: UInt8(fill)) }
    session.start {}
    session.stop()
    #expect(fills(output) == [1, 2, 3, 4])
    #expect(output.statistics?.captured == 4)
  }

  @Test func aReaderThatAsksToStopEndsTheCapture() {
    let output = RecordingOutput()
    let session = CaptureSession(
      id: 3, interfaces: interfaces, filter: nil, count: nil, ringBytes: 1 << 17, output: output)
    let detached = Atomic<Bool>(false)
    session.start { detached.store(true, ordering: .releasing) }
    push(session.ring, fill: 7)
    output.stopAsked.store(true, ordering: .releasing)
    // The writer notices on its own; stop() then only waits for it.
    while !detached.load(ordering: .acquiring) { usleep(1000) }
    session.stop()
    #expect(output.statistics != nil)
  }
}

/// An output whose writes fail while `failing` is set, like a full disk.
final class FailingOutput: CaptureOutput, @unchecked Sendable {
  // Sendable: the test flips `failing` atomically; the rest is the writer's.
  let failing = Atomic<Bool>(true)
  var writtenBlocks = 0

  func begin(header: [UInt8]) -> Bool { true }

  func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite {
    if failing.load(ordering: .acquiring) {
      return .failed("cannot write x.pcapng: No space left on device", writtenBlocks: 0)
    }
    writtenBlocks += PcapngReader.packets(in: blocks).count
    return .written
  }

  func idle(milliseconds: Int32) -> Bool {
    usleep(UInt32(milliseconds) * 1000)
    return true
  }

  func finish(_ statistics: CaptureStatistics) {}
}

/// An output whose writes block until it is abandoned, like a client
/// stopped with SIGSTOP whose socket is full.
final class BlockingOutput: CaptureOutput, @unchecked Sendable {
  let released = DispatchSemaphore(value: 0)
  let abandoned = Atomic<Bool>(false)

  func begin(header: [UInt8]) -> Bool { true }

  func write(blocks: UnsafeRawBufferPointer) -> CaptureWrite {
    released.wait()
    return .gone
  }

  func idle(milliseconds: Int32) -> Bool { true }

  func finish(_ statistics: CaptureStatistics) {}

  func abandon() {
    abandoned.store(true, ordering: .releasing)
    released.signal()
  }
}

/// A capture whose output fails or stalls: the failure shows in its state
/// and the frames are counted; stopping never waits on the reader.
@Suite struct CaptureSessionFailureTests {
  let interfaces = [Pcapng.Interface(name: "core/h1", description: "test", snaplen: 100)]

  func push(_ ring: CaptureRing, count: Int) {
    for fill in 0..<count { CaptureSessionTests().push(ring, fill: UInt8(fill)) }
  }

  func waitFor(_ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(5)
    while !condition() && Date() < deadline { usleep(5000) }
  }

  @Test func aFailingOutputShowsInTheStateCountsTheFramesAndRecovers() {
    let output = FailingOutput()
    let session = CaptureSession(
      id: 1, name: "capture web", interfaces: interfaces, filter: nil, count: nil,
      ringBytes: 1 << 17, output: output)
    session.start {}
    push(session.ring, count: 5)
    waitFor { session.state.statistics.unwritten == 5 }
    #expect(session.state.failure == "cannot write x.pcapng: No space left on device")
    #expect(session.state.statistics.unwritten == 5 && session.state.statistics.captured == 0)
    output.failing.store(false, ordering: .releasing)
    push(session.ring, count: 3)
    waitFor { session.state.statistics.captured == 3 }
    #expect(session.state.failure == nil)
    #expect(session.state.statistics.captured == 3 && session.state.statistics.unwritten == 5)
    session.stop()
    #expect(output.writtenBlocks == 3)
  }

  @Test func stopAbandonsAWriterBlockedOnItsReader() {
    let output = BlockingOutput()
    let session = CaptureSession(
      id: 2, interfaces: interfaces, filter: nil, count: nil, ringBytes: 1 << 17, output: output)
    session.start {}
    push(session.ring, count: 1)
    usleep(100_000)
    let started = Date()
    session.stop()
    let seconds = Date().timeIntervalSince(started)
    let abandoned = output.abandoned.load(ordering: .acquiring)
    #expect(abandoned)
    #expect(seconds < CaptureSession.stopSeconds * 2 + 1, "stop took \(seconds) s")
  }
}
