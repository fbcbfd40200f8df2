import CLinuxNet
import Glibc
import PatchbayCore
import PatchbayWire
import SystemPackage

/// A port's way out: where a frame goes once every egress stage has let it
/// pass. An enum of plain values, so choosing the way costs one switch and no
/// dynamic dispatch or reference counting; `Datapath.send` is its one use.
enum PortSink {
  /// A descriptor that takes one frame, virtio-net header first, per write:
  /// a TAP the switch owns, or one end of a socket pair (`LoopbackPort`).
  case tap(FileDescriptor)
  /// A packet socket on an existing interface (-1 while it is gone), with its
  /// send queue: frames of one receive batch leave in one `sendmmsg`.
  case packetSocket(FileDescriptor, batch: OpaquePointer?)
  /// One end of an in-process patch cable: the frame is received on `port` of switch `peer`.
  case patchCable(peer: Int, port: Int)
  /// The lab side of NAT uplink number `router`.
  case router(Int)

  /// The way out of `port`; `batch` is its send queue, if it is a packet socket.
  init(_ port: DatapathPort, batch: OpaquePointer?) {
    switch port.kind {
    case .tap: self = .tap(FileDescriptor(rawValue: port.descriptor))
    case .packetSocket:
      self = .packetSocket(FileDescriptor(rawValue: port.descriptor), batch: batch)
    case .patchCable: self = .patchCable(peer: port.peerSwitchIndex, port: port.peerPortIndex)
    case .router: self = .router(port.routerIndex)
    }
  }
}

// The last egress stage: the sink. Every frame the datapath sends to a port
// (switched, released from a rate-limit queue, mirrored, or one segment of a
// software offload) leaves through `send`, and every frame written to a
// descriptor through `FrameWrite`.
extension Datapath {
  /// Sends `frame` (its virtio-net header just before it, as received) out of
  /// `global`, framed with `encapsulation` (`length` bytes on the wire), and
  /// counts it there as sent or dropped. `isBatchable`: the frame's bytes stay
  /// put until the current batch's `flushSends`, so a packet socket may queue
  /// it for one `sendmmsg`. `inPlace`: nobody else needs the frame, so a
  /// router may rewrite it where it lies.
  @inline(__always)
  func send(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, at now: Instant, depth: Int, isBatchable: Bool, inPlace: Bool
  ) {
    switch sinks[global] {
    case .router(let router):
      deliverToRouter(
        frame, encapsulation, length: length, port: global, router: router,
        inPlace: inPlace && encapsulation.isIdentity, at: now)
    case .patchCable(let peer, let peerPort):
      let target = ports[global]
      guard depth < buffers.count else {
        bridges[target.switchIndex].countTransmitDrop(.transmitFailed, on: target.portIndex)
        return
      }
      // This depth's own buffer, so the peer switch never overwrites a frame
      // its caller is still flooding.
      let copy = buffers[depth].baseAddress! + Datapath.headroom
      _ = encapsulation.write(frame, into: copy)
      VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount)
        .shifted(by: length - frame.count).store(to: copy - VirtioNetHeader.byteCount)
      bridges[target.switchIndex].countTransmitted(byteCount: length, on: target.portIndex)
      handle(
        UnsafeRawBufferPointer(start: copy, count: length), switchIndex: peer, port: peerPort,
        at: now, depth: depth + 1)
    case .packetSocket(let descriptor, let batch?)
    where isBatchable && isQueueingSends && descriptor.rawValue >= 0:
      queueSend(frame, encapsulation, length: length, to: global, batch: batch)
    case .tap(let descriptor), .packetSocket(let descriptor, _):
      count(
        write(frame, encapsulation, length: length, to: descriptor), length: length, port: global)
    }
  }

  /// Writes `frame` framed for its port: one write of header and frame when
  /// it leaves as it came, else one writev of (edited header, MAC addresses,
  /// pushed tag, rest), with no copy.
  @inline(__always)
  private func write(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    to descriptor: FileDescriptor
  ) -> WriteOutcome {
    let header = frame.baseAddress! - VirtioNetHeader.byteCount
    if encapsulation.isIdentity {
      return FrameWrite.write(descriptor, header, count: frame.count + VirtioNetHeader.byteCount)
    }
    let hasTag = prepareFraming(frame, encapsulation, length: length)
    vector[0] = iovec(iov_base: headerBytes, iov_len: VirtioNetHeader.byteCount)
    let base = UnsafeMutableRawPointer(mutating: frame.baseAddress!)
    let addresses = EgressEncapsulation.addressesLength
    vector[1] = iovec(iov_base: base, iov_len: addresses)
    var parts = 2
    if hasTag {
      vector[2] = iovec(iov_base: tagBytes, iov_len: VLANTag.byteCount)
      parts = 3
    }
    let rest = addresses + encapsulation.skippedLength
    vector[parts] = iovec(iov_base: base + rest, iov_len: frame.count - rest)
    return FrameWrite.write(
      descriptor, vector: vector, parts: parts + 1, count: length + VirtioNetHeader.byteCount)
  }

  /// Counts a frame of `length` bytes sent to `global`: transmitted, or dropped with the reason.
  @inline(__always)
  func count(_ outcome: WriteOutcome, length: Int, port global: Int) {
    let target = ports[global]
    if let reason = outcome.dropReason {
      bridges[target.switchIndex].countTransmitDrop(reason, on: target.portIndex)
    } else {
      bridges[target.switchIndex].countTransmitted(byteCount: length, on: target.portIndex)
    }
  }

  /// Fills the scratch header (offsets past the MAC addresses moved with the
  /// tag) and, if the encapsulation pushes one, the scratch tag; returns
  /// whether there is a tag.
  @inline(__always)
  private func prepareFraming(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int
  ) -> Bool {
    VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount)
      .shifted(by: length - frame.count).store(to: headerBytes)
    guard let tag = encapsulation.pushedTag else { return false }
    tagBytes.storeBytes(of: tag.protocolID.rawValue.bigEndian, as: UInt16.self)
    tagBytes.storeBytes(of: tag.controlInformation.bigEndian, toByteOffset: 2, as: UInt16.self)
    return true
  }

  /// Queues `frame` for `global`'s next sendmmsg (flushing first if the queue is full).
  @inline(__always)
  private func queueSend(
    _ frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    to global: Int, batch: OpaquePointer
  ) {
    if pb_tx_queue_is_full(batch) != 0 { flushSends() }
    let hasTag = prepareFraming(frame, encapsulation, length: length)
    let rest = EgressEncapsulation.addressesLength + encapsulation.skippedLength
    _ = pb_tx_queue_add(
      batch, headerBytes, frame.baseAddress, tagBytes, hasTag ? 1 : 0, frame.baseAddress! + rest,
      UInt32(frame.count - rest))
    if !isSendPending[global] {
      isSendPending[global] = true
      pendingSends.append(global)
    }
  }

  /// Sends every queued frame: one sendmmsg per packet-socket port with frames waiting.
  func flushSends() {
    for global in pendingSends {
      isSendPending[global] = false
      guard case .packetSocket(let descriptor, let batch?) = sinks[global] else { continue }
      let queued = Int(pb_tx_queue_count(batch))
      sentBatches &+= 1
      var error: Int32 = 0
      let sent = Int(pb_tx_queue_flush(descriptor.rawValue, batch, sentLengths, &error))
      for index in 0..<sent {
        count(.sent, length: Int(sentLengths[index]), port: global)
      }
      let outcome = WriteOutcome(errno: error)
      for _ in sent..<max(sent, queued) {
        count(outcome, length: 0, port: global)
      }
    }
    pendingSends.removeAll(keepingCapacity: true)
  }
}
