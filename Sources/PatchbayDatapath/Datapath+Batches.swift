import CLinuxNet
import Glibc
import PatchbayCore
import PatchbayWire

// Frames read in a batch are decided in a batch (issue 21): a TAP's burst of
// reads and a packet socket's recvmmsg both land in the receive slots, pass
// admission one by one, and the frames admitted go to the bridge in one call
// (`Bridge.process(_:on:at:into:)`), which pays its per-port checks once; then
// each is forwarded or flooded in order. A port whose frames need a stop of
// their own before the switch (handed to the owner thread, captured on the way
// in, policed) takes the frame-by-frame path (`handle`), as does a frame that
// arrives over a patch cable or back from a queue.
//
// The order of events differs from the frame-by-frame path in one way: every
// frame of a batch is decided before the first leaves. Only a frame that comes
// back into the same switch within the batch (over patch cables in a loop,
// which a tree of cables cannot make) could see a decision taken before it
// learned something; the rest is the same, frame for frame and counter for counter.
extension Datapath {
  /// True when `global`'s frames may be decided in batches.
  @inline(__always)
  func decidesInBatches(_ global: Int) -> Bool {
    !handsOff[global] && !isTappedIn[global] && !isIngressLimited[global]
  }

  /// Reads TAP (or socket pair) port `global` into the receive slots, a batch
  /// of reads at a time, until EAGAIN or a burst's worth, and passes each
  /// batch on (`deliver`).
  func serviceReadBatches(port global: Int, at now: Instant) {
    let source = ports[global]
    var total = 0
    while total < Datapath.burst {
      var read = 0
      var frames = 0
      var isDrained = false
      var isGone = false
      while read < Datapath.receiveBatch {
        let frame = UnsafeMutableRawPointer(slots[read].data) + Datapath.headroom
        let header = frame - VirtioNetHeader.byteCount
        let count = Glibc.read(
          source.descriptor, header, Datapath.bufferSize + VirtioNetHeader.byteCount)
        if count <= 0 {
          let error = errno
          isDrained = true
          // The interface is gone (namespace deleted, TAP removed): once the
          // frames already read are on their way, the port goes down.
          isGone = count < 0 && error != EAGAIN && error != EINTR
          break
        }
        read += 1
        guard count >= VirtioNetHeader.byteCount else {
          bridges[source.switchIndex].countRejected(.runt, byteCount: count, on: source.portIndex)
          continue
        }
        batchFrames[frames] = UnsafeRawBufferPointer(
          start: frame, count: count - VirtioNetHeader.byteCount)
        frames += 1
      }
      deliver(frames, from: source, port: global, at: now)
      if isGone {
        detach(port: global)
        return
      }
      total += read
      if isDrained { return }
    }
  }

  /// Passes the first `count` frames of `batchFrames`, read from port
  /// `global` into the receive slots, to the switch: those admitted decided
  /// in one call where the port allows it (`decidesInBatches`), else each
  /// admitted and switched in turn. Either way the frames lie in the slots
  /// until the next batch is read, so sends to packet sockets wait for one
  /// sendmmsg per port.
  func deliver(_ count: Int, from source: DatapathPort, port global: Int, at now: Instant) {
    guard count > 0 else { return }
    guard decidesInBatches(global) else {
      isQueueingSends = true
      for index in 0..<count {
        admit(batchFrames[index], from: source, port: global, at: now)
      }
      isQueueingSends = false
      flushSends()
      return
    }
    var admitted = 0
    for index in 0..<count where isAdmitted(batchFrames[index], from: source, port: global) {
      batchFrames[admitted] = batchFrames[index]
      admitted += 1
    }
    decide(admitted, from: source, at: now)
  }

  /// True when `FrameAdmission` lets `frame` (its virtio-net header before it)
  /// in from port `global`; otherwise counts it refused.
  @inline(__always)
  func isAdmitted(_ frame: UnsafeRawBufferPointer, from source: DatapathPort, port global: Int)
    -> Bool
  {
    guard
      let reason = FrameAdmission.verdict(
        header: VirtioNetHeader(unchecked: frame.baseAddress! - VirtioNetHeader.byteCount),
        frameLength: frame.count, maximumLength: maximumFrameLengths[global])
    else { return true }
    bridges[source.switchIndex].countRejected(reason, byteCount: frame.count, on: source.portIndex)
    return false
  }

  /// Decides the first `count` frames of `batchFrames`, received on `source`,
  /// in one call, and sends each where it goes; frames for packet sockets
  /// leave in one sendmmsg per port after the batch (the frames lie in the
  /// receive slots until the next batch).
  func decide(_ count: Int, from source: DatapathPort, at now: Instant) {
    guard count > 0 else { return }
    let switchIndex = source.switchIndex
    bridges[switchIndex].process(
      UnsafeBufferPointer(start: batchFrames, count: count), on: source.portIndex, at: now,
      into: batchDecisions)
    isQueueingSends = true
    for index in 0..<count {
      let (decision, classified) = batchDecisions[index]
      act(
        on: decision, batchFrames[index], classified, switchIndex: switchIndex,
        port: source.portIndex, at: now, depth: 0)
    }
    isQueueingSends = false
    flushSends()
  }
}
