import Foundation
import Glibc
import Testing

@testable import PatchbayControl

/// The capture stream's framing, over a real socket pair.
@Suite struct CaptureStreamTests {
  @Test func messagesArriveWholeInOrderAndTheEndIsNil() throws {
    var pair: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
    defer { close(pair[1]) }
    let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let sender = pair[0]
    let writer = Thread {
      _ = CaptureStream.send(.response, Array("{\"ok\":true}".utf8), to: sender)
      _ = CaptureStream.send(.header, [1, 2, 3], to: sender)
      _ = CaptureStream.send(.blocks, big, to: sender)
      _ = CaptureStream.send(.summary, [], to: sender)
      close(sender)
    }
    writer.start()
    let first = CaptureStream.receive(from: pair[1])
    #expect(first?.kind == .response && first?.payload == Array("{\"ok\":true}".utf8))
    let second = CaptureStream.receive(from: pair[1])
    #expect(second?.kind == .header && second?.payload == [1, 2, 3])
    let third = CaptureStream.receive(from: pair[1])
    #expect(third?.kind == .blocks && third?.payload == big)
    let fourth = CaptureStream.receive(from: pair[1])
    #expect(fourth?.kind == .summary && fourth?.payload == [])
    #expect(CaptureStream.receive(from: pair[1]) == nil)
  }

  @Test func sendingToAClosedReaderFailsWithoutSIGPIPE() {
    var pair: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
    close(pair[1])
    defer { close(pair[0]) }
    #expect(!CaptureStream.send(.blocks, [UInt8](repeating: 0, count: 1000), to: pair[0]))
  }

  @Test func anUnknownKindEndsTheStream() {
    var pair: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
    defer {
      close(pair[0])
      close(pair[1])
    }
    var junk: [UInt8] = [0x58, 0, 0, 0, 0]
    _ = write(pair[0], &junk, 5)
    #expect(CaptureStream.receive(from: pair[1]) == nil)
  }
}
