import Glibc
import PatchbayCore
import PatchbayWire

/// One port's limits and what they are doing, copied out for `status`.
public struct PortRateState: Sendable, Equatable {
  /// The ingress limit in force, if any.
  public var ingress: RateLimit?
  /// The egress limit in force, if any.
  public var egress: RateLimit?
  /// The port's rates over the last second.
  public var rates: RateMeter.Rates
  /// Frames waiting for tokens, both directions.
  public var queuedFrames: Int
}

// Rate limiting in the datapath. Both directions run a token bucket with a
// bounded queue (`Shaper`): a frame within the limit goes at once, one over it
// waits for tokens, and one that would overflow the queue is dropped and
// counted as rate-limited. Ingress frames wait before the switch sees them;
// egress frames wait framed for their port, after the switch's decision.
extension Datapath {
  /// Sets `global`'s limits (nil: unlimited in that direction) at `now` (by
  /// default the caller's reading of the clock; never before the loop's last
  /// turn). Frames already waiting under an old limit stay queued under the
  /// new one, or go on at once when the limit is lifted. Runs on the datapath
  /// thread (through `perform`) and never touches another port.
  public func setRateLimits(
    port global: Int, ingress: RateLimit?, egress: RateLimit?,
    at now: Instant = MonotonicClock.now()
  ) {
    perform { datapath in
      let now = max(now, datapath.lastTurn)
      datapath.apply(ingress, to: global, isIngress: true, at: now)
      datapath.apply(egress, to: global, isIngress: false, at: now)
      // Let the loop work out the next departure under the new rates.
      datapath.nextDeparture = 0
    }
  }

  private func apply(_ limit: RateLimit?, to global: Int, isIngress: Bool, at now: Instant) {
    var queue = isIngress ? ingressQueues[global] : egressQueues[global]
    if let limit, !limit.isUnlimited {
      if queue == nil {
        queue = LimitedQueue(limit, at: now)
        limitedQueues.append((global, isIngress))
      } else {
        queue!.change(to: limit, at: now)
      }
      store(queue, port: global, isIngress: isIngress)
      return
    }
    guard var lifted = queue else { return }
    // Lifted: the queue leaves the datapath first, so what waited goes on unlimited.
    store(nil, port: global, isIngress: isIngress)
    limitedQueues.removeAll { $0.port == global && $0.isIngress == isIngress }
    while let (frame, _, _) = lifted.ring.peek() {
      forward(released: frame, port: global, isIngress: isIngress, at: now, isStable: false)
      lifted.ring.removeHead()
    }
    lifted.ring.deallocate()
  }

  private func store(_ queue: LimitedQueue?, port global: Int, isIngress: Bool) {
    if isIngress {
      ingressQueues[global] = queue
      isIngressLimited[global] = queue != nil
    } else {
      egressQueues[global] = queue
      isEgressLimited[global] = queue != nil
    }
  }

  /// Ingress limit of a frame arriving on `global` (its virtio-net header just
  /// before it): false when it may be switched now; true when it was queued
  /// (copied as received) or dropped and counted.
  // Out of line: only limited ports come here, and unlimited ones should not
  // carry this code in their loop.
  @inline(never)
  func holdsBack(arriving frame: UnsafeRawBufferPointer, port global: Int, at now: Instant) -> Bool
  {
    let received = frame.baseAddress! - VirtioNetHeader.byteCount
    let footprint = FrameFootprint(frame: frame, header: VirtioNetHeader(unchecked: received))
    let (verdict, copy) = ingressQueues[global]!.offer(
      length: frame.count, footprint: footprint, at: now)
    switch verdict {
    case .send:
      return false
    case .drop:
      bridges[ports[global].switchIndex].countRejected(
        .rateLimited,
        byteCount: frame.count, on: ports[global].portIndex)
    case .enqueue:
      (copy! - VirtioNetHeader.byteCount).copyMemory(
        from: received, byteCount: VirtioNetHeader.byteCount + frame.count)
      noteQueued(port: global, ingressQueues[global]!.shaper, footprint: footprint, at: now)
    }
    return true
  }

  /// Egress limit of a frame the switch sends to `global`: false when it may be
  /// written now; true when it was queued (framed for the port, header
  /// included) or dropped and counted.
  // Out of line: only limited ports come here, and unlimited ones should not
  // carry this code in their loop.
  @inline(never)
  func holdsBack(
    leaving frame: UnsafeRawBufferPointer, _ encapsulation: EgressEncapsulation, length: Int,
    port global: Int, at now: Instant
  ) -> Bool {
    let received = frame.baseAddress! - VirtioNetHeader.byteCount
    let footprint = FrameFootprint(frame: frame, header: VirtioNetHeader(unchecked: received))
    let (verdict, copy) = egressQueues[global]!.offer(
      length: length, footprint: footprint, at: now)
    switch verdict {
    case .send:
      return false
    case .drop:
      bridges[ports[global].switchIndex].countTransmitDrop(
        .rateLimited, on: ports[global].portIndex)
    case .enqueue:
      _ = encapsulation.write(frame, into: copy!)
      VirtioNetHeader(unchecked: received).shifted(by: length - frame.count)
        .store(to: copy! - VirtioNetHeader.byteCount)
      noteQueued(port: global, egressQueues[global]!.shaper, footprint: footprint, at: now)
    }
    return true
  }

  /// A frame joined a queue: if it is alone there, its departure may be the next one.
  @inline(__always)
  private func noteQueued(
    port global: Int, _ shaper: Shaper, footprint: FrameFootprint, at now: Instant
  ) {
    guard shaper.queuedFrames == 1 else { return }
    var copy = shaper
    nextDeparture = min(
      nextDeparture, copy.headDeparture(footprint: footprint, at: now).nanoseconds)
  }

  /// Sends on every queued frame whose time has come, queue by queue in
  /// order, and works out when the next one may go. Frames for a packet
  /// socket join its batch: each queue's released frames leave in one
  /// sendmmsg, flushed before the next queue (and before anything could reuse
  /// the ring space they still lie in).
  func releaseQueuedFrames(at now: Instant) {
    nextDeparture = .max
    isQueueingSends = true
    defer { isQueueingSends = false }
    for (global, isIngress) in limitedQueues {
      defer { flushSends() }
      while true {
        let released =
          isIngress
          ? ingressQueues[global]?.releaseHead(at: now, departure: &nextDeparture)
          : egressQueues[global]?.releaseHead(at: now, departure: &nextDeparture)
        guard let frame = released else { break }
        forward(released: frame, port: global, isIngress: isIngress, at: now, isStable: true)
        if isIngress {
          ingressQueues[global]?.ring.removeHead()
        } else {
          egressQueues[global]?.ring.removeHead()
        }
      }
    }
  }

  /// A frame that waited: into the switch (ingress), or out of the port,
  /// already framed for it, through the rest of the egress path.
  /// `isStable`: the frame stays in its queue's ring until the caller flushes.
  private func forward(
    released frame: UnsafeRawBufferPointer, port global: Int, isIngress: Bool, at now: Instant,
    isStable: Bool
  ) {
    if isIngress {
      let target = ports[global]
      switchFrame(frame, switchIndex: target.switchIndex, port: target.portIndex, at: now, depth: 0)
    } else {
      leave(framed: frame, port: global, at: now, isStable: isStable)
    }
  }

  /// Samples every port's counters for its current rates (once a second).
  func sampleRates(at now: Instant) {
    for global in ports.indices {
      let port = ports[global]
      meters[global].sample(bridges[port.switchIndex].counters(of: port.portIndex), at: now)
    }
  }
}
