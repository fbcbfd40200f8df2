import Glibc
import PatchbayCore
import PatchbayWire

// Software segmentation and checksum completion toward ports with
// `offload: false`. Such a port has a flag (`isSegmenting`); every other port
// pays one byte load per transmit. A frame for a flagged port whose
// virtio-net header asks for GSO or a partial checksum comes here, out of
// line: it is framed for the port (in a scratch buffer when a tag is pushed or
// popped), cut into segments or completed by `SoftwareOffload` into a second
// scratch buffer, and each segment, with a zeroed virtio-net header, takes the
// rest of the egress path (`leave(segment:)`: capture tap, sink). Both
// buffers are allocated once with the datapath. Captures of the port record
// the segments, which are what left it. This is stage 3 of the egress path
// (Datapath+Egress.swift).
extension Datapath {
  /// Sends `frame` (its virtio-net header just before it, as received) out of
  /// `global`, which takes no offloads: framed with `encapsulation` (`length`
  /// bytes on the wire), then segmented or completed, each resulting frame
  /// written on its own and counted as sent. A frame whose header does not
  /// describe it is counted as `bad-offload`; one whose segments would not fit
  /// the port's MTU as `oversize`.
  // Out of line: only ports with `offload: false` come here, and the others
  // should not carry this code in their loop.
  @inline(never)
  func transmitInSoftware(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, at now: Instant
  ) {
    let target = ports[global]
    let switchIndex = target.switchIndex
    let port = target.portIndex
    guard target.descriptor >= 0 else {
      bridges[switchIndex].countTransmitDrop(.portDown, on: port)
      return
    }
    let received = VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount)
    let framed: UnsafeRawBufferPointer
    if encapsulation.isIdentity {
      framed = frame
    } else {
      // Safe: the scratch holds a whole buffer plus room for tags, and the frame
      // came from such a buffer.
      let copy = offloadFraming + Datapath.headroom
      _ = encapsulation.write(frame, into: copy)
      framed = UnsafeRawBufferPointer(start: copy, count: length)
    }
    let header = received.shifted(by: length - frame.count)
    var offload: SoftwareOffload
    do {
      offload = try SoftwareOffload(frame: framed, header: header)
    } catch {
      bridges[switchIndex].countTransmitDrop(.badOffload, on: port)
      return
    }
    if offload.work != .checksum && offload.maximumSegmentLength > maximumFrameLengths[global] {
      bridges[switchIndex].countTransmitDrop(.oversize, on: port)
      return
    }
    // Frames queued for this packet socket earlier in the batch leave first,
    // so a flow's frames keep their order.
    if isSendPending[global] { flushSends() }
    // Safe: the segment area holds `bufferSize` plus tag room, and no segment
    // is longer than the framed frame (`maximumSegmentLength <= length`).
    let zeroed = offloadSegments + Datapath.headerOffset
    zeroed.initializeMemory(as: UInt8.self, repeating: 0, count: VirtioNetHeader.byteCount)
    let out = offloadSegments + Datapath.headroom
    let room = UnsafeMutableRawBufferPointer(start: out, count: offloadSegmentCapacity)
    while let segment = offload.next(into: room) {
      leave(segment: UnsafeRawBufferPointer(start: out, count: segment), port: global, at: now)
    }
  }
}
