import CLinuxNet
import PatchbayWire
import Testing

@testable import PatchbayDatapath

/// A receive slot as `pb_packet_receive_batch` leaves it, without a socket:
/// the tag the kernel reported is put back in Swift.
struct ReceiveSlotTests {
  private static let addresses: [UInt8] = [
    0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
  ]
  private static let header: [UInt8] = [0x01, 0, 0, 0, 0, 0, 34, 0, 16, 0]

  /// Runs `body` on a slot holding `frame` behind `header` at the datapath's headroom.
  private func withSlot(
    frame: [UInt8], tagStatus: Int, tpid: UInt16, control: UInt16,
    _ body: (inout pb_rx_slot, UnsafeMutableRawBufferPointer) -> Void
  ) {
    var bytes =
      [UInt8](repeating: 0xEE, count: Datapath.headerOffset) + Self.header + frame
    bytes.withUnsafeMutableBytes { buffer in
      var slot = pb_rx_slot(
        data: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self),
        capacity: UInt32(buffer.count), frame_offset: UInt32(Datapath.headroom),
        frame_length: UInt32(frame.count), tag_status: UInt32(tagStatus), tag_tpid: tpid,
        tag_control: control)
      body(&slot, buffer)
    }
  }

  @Test func putsBackAnAuxiliaryTagWithoutProtocolAs8021Q() {
    let frame = Self.addresses + [0x08, 0x00, 0x45]
    withSlot(frame: frame, tagStatus: PB_RX_TAG_VALID, tpid: 0x88A8, control: 0x300A) {
      slot, buffer in
      let restored = slot.restoredFrame()
      #expect(Array(restored) == Self.addresses + [0x81, 0x00, 0x30, 0x0A, 0x08, 0x00, 0x45])
      #expect(slot.frame_offset == 12)
      #expect(slot.frame_length == 19)
      #expect(slot.tag_status == 0)
      // The checksum start moved with the frame.
      #expect(Array(buffer[2..<12]) == [0x01, 0, 0, 0, 0, 0, 38, 0, 16, 0])
    }
  }

  @Test func putsBackAnAuxiliaryTagWithItsProtocol() {
    let frame = Self.addresses + [0x81, 0x00, 0x00, 0x14, 0x08, 0x00]
    withSlot(
      frame: frame, tagStatus: PB_RX_TAG_VALID | PB_RX_TAG_TPID_VALID, tpid: 0x88A8,
      control: 0x0064
    ) { slot, _ in
      #expect(
        Array(slot.restoredFrame())
          == Self.addresses + [0x88, 0xA8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00])
    }
  }

  @Test func leavesUntaggedAndShortFramesAsTheyCame() {
    let frame = Self.addresses + [0x08, 0x00]
    withSlot(frame: frame, tagStatus: 0, tpid: 0, control: 0) { slot, _ in
      #expect(Array(slot.restoredFrame()) == frame)
      #expect(slot.frame_offset == UInt32(Datapath.headroom))
    }
    let short = Array(Self.addresses.prefix(5))
    withSlot(frame: short, tagStatus: PB_RX_TAG_VALID, tpid: 0, control: 10) { slot, _ in
      #expect(Array(slot.restoredFrame()) == short)
      #expect(slot.frame_length == 5)
    }
    withSlot(frame: [], tagStatus: PB_RX_TAG_VALID, tpid: 0, control: 10) { slot, _ in
      #expect(slot.restoredFrame().count == 0)
    }
  }
}
