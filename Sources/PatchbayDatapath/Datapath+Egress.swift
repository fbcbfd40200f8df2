import PatchbayCore
import PatchbayWire

// The egress path, written once. A frame the switch sends to a port walks
// these stages in order:
//
//   1. rate limit       `holdsBack(leaving:)`: sent on, queued framed for the
//                       port, or dropped (Datapath+RateLimits.swift)
//   2. impairment       not built yet: delay, loss and reordering belong
//                       between the limit and offload, so a shaped frame is
//                       impaired as it leaves and impaired frames are segmented
//   3. software offload `transmitInSoftware`: toward an `offload: false` port,
//                       a frame asking for GSO or a partial checksum becomes
//                       segments, each of which takes stages 4 and 5
//   4. capture tap      `tapLeaving` / `record` (Datapath+Capture.swift)
//   5. sink             `send` on the port's `PortSink` (PortSink.swift)
//
// A frame released from a rate-limit queue enters at stage 2 (it passed stage
// 1 when it was queued), and so does a mirrored copy (it is past the switch).
// Each stage is a flag or two read per frame; a port without limits, taps or
// `offload: false` pays one byte load per stage.
extension Datapath {
  /// Stage 1 and on: sends `frame` (its virtio-net header just before it),
  /// which the switch `switchIndex` sends to `port`, out of that port framed
  /// for it. `isExclusive`: it goes to this port alone (not flooded).
  @inline(__always)
  func transmit(
    _ frame: UnsafeRawBufferPointer, _ classified: IngressFrame, switchIndex: Int, port: Int,
    at now: Instant, depth: Int, isExclusive: Bool = false
  ) {
    let global = portBase[switchIndex] + port
    if handsOff[global] {
      handOff(frame, .leaving, port: global, classified: classified)
      return
    }
    let encapsulation = bridges[switchIndex].encapsulation(for: port, of: classified)
    let length = encapsulation.wireLength(ofReceived: frame.count)
    if isEgressLimited[global]
      && holdsBack(leaving: frame, encapsulation, length: length, port: global, at: now)
    {
      return
    }
    // Only a frame read into the receive buffer or slots at depth 0 stays put
    // until the batch's flush; one crossing a patch cable lies in a buffer the
    // next frame reuses.
    leave(
      frame, encapsulation, length: length, port: global, at: now, depth: depth,
      isStable: depth == 0, inPlace: isExclusive)
  }

  /// Stage 2 and on, for a frame already framed for `global` (a frame released
  /// from its egress queue, a mirrored copy). `isStable`: its bytes stay put
  /// until the batch's flush.
  @inline(__always)
  func leave(
    framed frame: UnsafeRawBufferPointer, port global: Int, at now: Instant, isStable: Bool
  ) {
    leave(
      frame, .identity, length: frame.count, port: global, at: now, depth: 0,
      isStable: isStable, inPlace: false)
  }

  /// Stages 2 to 5.
  @inline(__always)
  private func leave(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, at now: Instant, depth: Int, isStable: Bool, inPlace: Bool
  ) {
    // Stage 3. One byte load for a port that takes offloads; the header only for one that does not.
    let isSegmenting = isSegmenting[global]
    if isSegmenting
      && VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount).requestsOffload
    {
      transmitInSoftware(frame, encapsulation, length: length, port: global, at: now)
      return
    }
    // Stage 4.
    if isTappedOut[global] {
      tapLeaving(frame, encapsulation, length: length, port: global, at: now)
    }
    // Stage 5. A port without offloads writes at once, as its segments do, to keep their order.
    send(
      frame, encapsulation, length: length, port: global, at: now, depth: depth,
      isBatchable: isStable && !isSegmenting, inPlace: inPlace)
  }

  /// Stages 4 and 5 for one segment made by stage 3 (wire bytes with a zeroed
  /// header before them, in a scratch buffer the next segment reuses).
  @inline(__always)
  func leave(segment: UnsafeRawBufferPointer, port global: Int, at now: Instant) {
    if isTappedOut[global] { record(segment, port: global, direction: .outbound, at: now) }
    send(
      segment, .identity, length: segment.count, port: global, at: now, depth: 0,
      isBatchable: false, inPlace: false)
  }
}

extension EgressEncapsulation {
  /// Leaves the frame as it is: for frames already framed for their port.
  static let identity = EgressEncapsulation(pushedTag: nil, skippedLength: 0)
}
