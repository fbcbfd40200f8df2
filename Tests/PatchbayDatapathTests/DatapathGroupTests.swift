import Foundation
import Glibc
import PatchbayCore
import PatchbayWire
import Synchronization
import Testing

@testable import PatchbayDatapath

@Suite("DatapathGroup")
struct DatapathGroupTests {
  @Test func anAddressOneThreadLearnsIsKnownToTheOther() throws {
    let lab = try GroupLab(threads: 2, portCount: 3)
    // 02::01 speaks on port 0 at thread 0; thread 1 then has a frame for it.
    try lab.queues[0][0].inject(testFrame(to: 2, from: 1))
    lab.turn()
    #expect(lab.received(on: 1).count == 1)  // flooded: 02::02 is unknown
    #expect(lab.received(on: 2).count == 1)
    lab.turn()  // thread 1 learns what thread 0 published
    try lab.queues[1][1].inject(testFrame(to: 1, from: 2))
    lab.turn()
    #expect(lab.received(on: 0).count == 1)
    #expect(lab.received(on: 2).isEmpty, "thread 1 forwarded, not flooded")
    let forwarded = lab.group.snapshot(at: lab.now).switches[0].counters[1].forwardedPackets
    #expect(forwarded == 1)
  }

  @Test func aMoveOnOneThreadIsSeenByTheOther() throws {
    let lab = try GroupLab(threads: 2, portCount: 3)
    try lab.queues[0][0].inject(testFrame(to: 2, from: 1))
    lab.turn()
    lab.turn()
    // 02::01 moves to port 2, seen by thread 1.
    lab.now = Instant(nanoseconds: lab.now.nanoseconds + 1_000_000)
    try lab.queues[1][2].inject(testFrame(to: 3, from: 1))
    lab.turn()
    lab.turn()
    _ = lab.received(on: 0) + lab.received(on: 1) + lab.received(on: 2)
    try lab.queues[0][1].inject(testFrame(to: 1, from: 4))
    lab.turn()
    #expect(lab.received(on: 2).count == 1, "thread 0 sends to the new port")
    #expect(lab.received(on: 0).isEmpty)
    let entries = lab.group.snapshot(at: lab.now).switches[0].entries
    #expect(entries.first { $0.mac == MACAddress("02:00:00:00:00:01") }?.port == 2)
    #expect(lab.group.snapshot(at: lab.now).switches[0].statistics.moved == 1)
  }

  @Test func aCapturedPortIsServedByTheOwnerInOrder() throws {
    let lab = try GroupLab(threads: 2, portCount: 2)
    let ring = CaptureRing(capacity: 1 << 16)
    defer { ring.deallocate() }
    lab.group.addTaps(
      [
        (
          port: 1,
          tap: CaptureTap(ring: ring, interfaceID: 0, direction: .both, filter: nil, snaplen: 100)
        )
      ], group: 1)
    // Frames to port 1 from both threads, and from port 1 on thread 1.
    for sequence in 0..<5 {
      try lab.queues[1][0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    try lab.queues[0][0].inject(testFrame(to: 2, from: 1, sequence: 5))
    try lab.queues[1][1].inject(testFrame(to: 1, from: 2, sequence: 6))
    lab.turn()
    var blocks = 0
    while let run = ring.nextRun() {
      blocks += run.blocks
      ring.release(run.bytes.count)
    }
    #expect(blocks == 7, "every frame crossing port 1 captured once")
    let out = lab.received(on: 1).map(sequence(of:))
    #expect(out.sorted() == [0, 1, 2, 3, 4, 5])
    #expect(out.filter { $0 < 5 } == [0, 1, 2, 3, 4], "a flow's order kept through the handoff")
    #expect(lab.received(on: 0).map(sequence(of:)) == [6])
    lab.group.removeTaps(group: 1)
    try lab.queues[1][0].inject(testFrame(to: 2, from: 1, sequence: 7))
    lab.turn()
    #expect(lab.queues[1][1].receiveAll().map(sequence(of:)) == [7], "back on its own thread")
  }

  @Test func aRateLimitHoldsInTotalOverThreads() throws {
    let lab = try GroupLab(threads: 2, portCount: 2)
    // 1,000 frames per second with a burst of 64, whichever thread they arrive on.
    let start = lab.now
    lab.group.setRateLimits(
      port: 0, ingress: RateLimit(packetsPerSecond: 1_000), egress: nil, at: start)
    for sequence in 0..<100 {
      try lab.queues[sequence % 2][0].inject(testFrame(to: 2, from: 1, sequence: sequence))
    }
    lab.turn()
    #expect(lab.received(on: 1).count == 64, "one burst in total, not one per thread")
    lab.now = Instant(nanoseconds: start.nanoseconds + 10_000_000)
    lab.turn()
    #expect(lab.received(on: 1).count == 10, "10 ms of 1,000 per second")
    let state = lab.group.snapshot(at: lab.now).ports[0]
    #expect(state.queuedFrames == 26)
  }

  @Test func countersOfEveryThreadAddUp() throws {
    let lab = try GroupLab(threads: 3, portCount: 2)
    for thread in 0..<3 {
      for sequence in 0..<4 {
        try lab.queues[thread][0].inject(testFrame(to: 2, from: 1, sequence: sequence))
      }
    }
    lab.turn()
    let counters = lab.group.snapshot(at: lab.now).switches[0].counters
    #expect(counters[0].receivedPackets == 12)
    #expect(counters[1].transmittedPackets == 12)
    #expect(counters.allSatisfy { $0.addsUp })
  }

  @Test func threadsLearnConcurrentlyWithoutLosingAddresses() throws {
    // Four real threads, each fed frames from its own 200 sources on its own
    // queues at once; afterwards every thread's copy knows all 800.
    let threads = 4
    let sources = 200
    let lab = try GroupLab(threads: threads, portCount: 2)
    lab.group.start()
    defer { lab.group.stop() }
    @Sendable func frame(thread: Int, source: Int) -> [UInt8] {
      var frame = testFrame(to: 0xff, from: 0)
      frame[5] = 0xfe
      frame[10] = UInt8(thread)
      frame[11] = UInt8(source)
      frame[9] = 1
      return frame
    }
    let feeders = (0..<threads).map { thread in
      let queue = lab.queues[thread][0]
      return Thread {
        for source in 0..<sources { try? queue.inject(frame(thread: thread, source: source)) }
      }
    }
    feeders.forEach { $0.start() }
    var complete = false
    for _ in 0..<500 {
      let counts = lab.group.performOnEach { datapath in
        datapath.bridges[0].table.entries(at: MonotonicClock.now()).count
      }
      if counts.allSatisfy({ $0 == threads * sources }) {
        complete = true
        break
      }
      usleep(10_000)
    }
    #expect(complete, "every thread's table has every address")
    let snapshot = lab.group.snapshot(at: lab.now)
    #expect(snapshot.switches[0].statistics.learned == UInt64(threads * sources))
    #expect(snapshot.switches[0].entries.count == threads * sources)
  }

  @Test func aFullHandoffRingDropsAndCounts() throws {
    let lab = try GroupLab(threads: 2, portCount: 2)
    lab.group.setRateLimits(
      port: 1, ingress: nil, egress: RateLimit(packetsPerSecond: 1_000_000), at: lab.now)
    // 4 MiB of ring holds about 2,900 entries of 1,400 bytes; thread 1 sends
    // more before the owner takes any.
    let big = testFrame(to: 2, from: 1, length: 1_400)
    for _ in 0..<3_200 {
      try lab.queues[1][0].inject(big)
      lab.group.workers[1].runOnce(at: lab.now)
    }
    let counters = lab.group.snapshot(at: lab.now).switches[0].counters[1]
    #expect(counters[transmitDropped: .handoffFull] > 0)
    lab.turn()
    // Every frame is sent, waiting for its tokens, or counted where it was lost
    // (the socket pair's buffer, which nobody reads here, fills too).
    let snapshot = lab.group.snapshot(at: lab.now)
    let served = snapshot.switches[0].counters[1]
    #expect(
      served.transmittedPackets + served[transmitDropped: .handoffFull]
        + served[transmitDropped: .rateLimited] + served[transmitDropped: .transmitFailed]
        + UInt64(snapshot.ports[1].queuedFrames) == 3_200)
  }
}
