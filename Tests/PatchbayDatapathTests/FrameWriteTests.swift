import Glibc
import PatchbayCore
import SystemPackage
import Testing

@testable import PatchbayDatapath

/// The syscall funnel reports each way a frame write ends, and the port
/// counts it as sent or as the matching drop.
@Suite struct FrameWriteTests {
  @Test func reportsSentWouldBlockAndDown() throws {
    let port = try LoopbackPort()
    defer { port.close() }
    let bytes = [UInt8](repeating: 0x5a, count: 70)
    let sent = bytes.withUnsafeBytes {
      FrameWrite.write(port.datapathEnd, $0.baseAddress!, count: $0.count)
    }
    #expect(sent == .sent)
    #expect(port.receive()?.frame == [UInt8](repeating: 0x5a, count: 60))
    var outcome = WriteOutcome.sent
    var written = 0
    while outcome == .sent && written < 10_000 {
      outcome = bytes.withUnsafeBytes {
        FrameWrite.write(port.datapathEnd, $0.baseAddress!, count: $0.count)
      }
      written += 1
    }
    #expect(outcome == .wouldBlock)
    let closed = FileDescriptor(rawValue: -1)
    let down = bytes.withUnsafeBytes { FrameWrite.write(closed, $0.baseAddress!, count: $0.count) }
    #expect(down == .down)
  }

  @Test func outcomesMapToDropReasons() {
    #expect(WriteOutcome.sent.dropReason == nil)
    #expect(WriteOutcome.wouldBlock.dropReason == .transmitFailed)
    #expect(WriteOutcome.down.dropReason == .portDown)
    #expect(WriteOutcome.failed.dropReason == .transmitFailed)
    #expect(WriteOutcome(errno: EMSGSIZE) == .failed)
    #expect(WriteOutcome(errno: ENETDOWN) == .down)
  }

  @Test func aFullHostQueueIsCountedAsATransmitFailure() throws {
    let lab = try LoopbackLab(portCount: 2)
    // Nobody reads port 1: the socket pair's queue fills and the rest are dropped.
    var sent = 0
    while sent < 416 {
      for _ in 0..<32 {
        try lab.ports[0].inject(testFrame(to: 2, from: 1, sequence: sent))
        sent += 1
      }
      lab.turn()
    }
    let counters = lab.counters(1)
    #expect(counters.transmittedPackets + counters[transmitDropped: .transmitFailed] == 416)
    #expect(counters[transmitDropped: .transmitFailed] > 0)
    #expect(UInt64(lab.ports[1].receiveAll().count) == counters.transmittedPackets)
  }
}
