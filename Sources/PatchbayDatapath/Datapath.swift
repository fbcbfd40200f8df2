import CLinuxNet
import Foundation
import Glibc
import PatchbayCore
import PatchbayWire
import Synchronization

/// The datapath: one thread, one epoll loop, run to completion.
///
/// Each wakeup reads every ready port until EAGAIN or a bounded burst, asks the
/// pure `Bridge` what to do with each frame and writes it out, all from one
/// preallocated buffer: no allocation, reference counting or Foundation per
/// frame. The clock is read once per wakeup. The control plane never touches
/// this state directly: it enqueues a closure with `perform(_:)` and wakes the
/// loop through an eventfd, and the loop runs it between batches.
public final class Datapath: @unchecked Sendable {
  // Sendable: everything mutable below is touched only by the datapath thread
  // once `start()` ran (before that, only by the thread that made it); the
  // command queue is behind a Mutex.

  /// The switches, indexed like the topology's.
  public internal(set) var bridges: [Bridge]
  var ports: [DatapathPort]
  let portBase: [Int]
  let epoll: Epoll
  let wakeup: Int32
  // Threads of a group (Datapath+Workers.swift): what this one shares with the
  // others, and by global port whether it hands that port's frames to the owner.
  var workers = WorkerLinks()
  var handsOff: [Bool]
  // buffers[d] holds a frame crossing a patch cable at depth d (a frame read
  // from a port lies in the receive slots), so a nested switch never
  // overwrites the frame its caller is still flooding. Patch cables form a
  // tree, so the depth is below the switch count.
  let buffers: [UnsafeMutableRawBufferPointer]
  // writev's vector (virtio-net header, MAC addresses, pushed tag, rest), the
  // edited header's bytes and the pushed tag's bytes.
  let vector: UnsafeMutablePointer<iovec>
  let headerBytes: UnsafeMutableRawPointer
  let tagBytes: UnsafeMutableRawPointer
  // Receive slots for batched reads (a packet socket's recvmmsg, a TAP's
  // burst of reads), one frame each.
  let slots: UnsafeMutablePointer<pb_rx_slot>
  // A receive batch's frames and their decisions (Datapath+Batches.swift).
  let batchFrames: UnsafeMutablePointer<UnsafeRawBufferPointer>
  let batchDecisions: UnsafeMutablePointer<BatchDecision>
  private let slotMemory: UnsafeMutableRawBufferPointer
  // The interface behind each packet-socket port (nil for others), for reopening
  // it when it comes back. Kept apart from `ports` so reading a port per frame
  // never touches a String's reference count.
  let attachedInterfaces: [String?]
  // Packet-socket ports taken down on purpose (their VM exited): not reopened
  // although their interface is still there.
  var isHeldDown: [Bool]
  // Ports that went down or came back since the daemon last asked
  // (`activity()`): it logs them, the datapath never does.
  var portEvents = PortEventRing(capacity: 256)
  // Send queues of packet-socket ports (nil for others): frames forwarded from a
  // receive batch leave in one sendmmsg per port when the batch is done. They
  // reference the receive slots, which stay put until the next batch.
  let sendQueues: [OpaquePointer?]
  var pendingSends: [Int]
  var isSendPending: [Bool]
  var isQueueingSends = false
  let sentLengths: UnsafeMutablePointer<UInt32>
  // How many sendmmsg batches left (for tests that a path joined the batch).
  var sentBatches: UInt64 = 0
  // Each port's way out (PortSink.swift), by global port: its descriptor and
  // send queue, its patch cable's far end, or its router. Kept beside `ports`
  // and changed with it when a packet socket closes or reopens.
  var sinks: [PortSink]
  // The time of the loop's current (or last) turn: control commands never act
  // before it, so the rate queues' clock never runs backwards.
  var lastTurn = Instant.zero
  // Rate limits, by global port. The flags are what the per-frame path reads,
  // so an unlimited port pays one byte load per direction.
  var isIngressLimited: [Bool]
  var ingressQueues: [LimitedQueue?]
  var isEgressLimited: [Bool]
  var egressQueues: [LimitedQueue?]
  // Every (port, direction) with a limit, for releasing queued frames.
  var limitedQueues: [(port: Int, isIngress: Bool)] = []
  // The earliest instant a queued frame may leave, in nanoseconds (max: none waits).
  var nextDeparture = UInt64.max
  var meters: [RateMeter]
  // The longest frame each port accepts that is not a GSO superframe.
  let maximumFrameLengths: [Int]
  // Ports with `offload: false`, by global port: frames asking for GSO or a
  // partial checksum are segmented or completed in software on their way out
  // (see Datapath+SoftwareOffload.swift). Read once per transmit.
  let isSegmenting: [Bool]
  // Where such a frame is framed for its port (a tag pushed or popped), and
  // where its segments are written, header room first.
  let offloadFraming: UnsafeMutableRawPointer
  let offloadSegments: UnsafeMutableRawPointer
  let offloadSegmentCapacity: Int
  // Captures and mirrors, by global port (see Datapath+Capture.swift): a flag
  // per direction, and the port's taps as a range of one flat array.
  var isTappedIn: [Bool]
  var isTappedOut: [Bool]
  var taps: [CaptureTap] = []
  var tapRanges: [Range<Int>]
  var tapGroups: [Int: [(port: Int, tap: CaptureTap)]] = [:]
  // Where a tapped frame that changes framing on its way out is framed for capture.
  let captureScratch: UnsafeMutableRawPointer
  // NAT uplinks (see Datapath+Uplinks.swift): each router, the packet socket
  // on its physical NIC, and where frames it sends to the lab or the NIC are built.
  var routers: [UplinkRouter]
  var uplinks: [DatapathUplink]
  let routerScratch: UnsafeMutableRawPointer
  let routerOutput: UnsafeMutableRawPointer
  private var isRunning = true
  // How long the loop polls after a wakeup that found work (nanoseconds; 0: never).
  private let busyPollNanoseconds: UInt64
  // Whether that is the most an adaptive window may learn (BusyPoller.swift).
  private let isBusyPollAdaptive: Bool
  private var lastSweep = Instant.zero
  private let commands = Mutex<[@Sendable () -> Void]>([])
  private var thread: Thread?
  private let finished = DispatchSemaphore(value: 0)

  /// The most frames read from one port per wakeup, so one busy port cannot starve the rest.
  public static let burst = 64
  /// Frames per `recvmmsg` on a packet-socket port.
  public static let receiveBatch = 32
  /// The largest frame read: a 64 KiB GSO superframe plus its headers.
  public static let bufferSize = 65_536 + 256
  /// Bytes before each frame in a buffer: room for the virtio-net header that
  /// precedes it on the wire, so header and frame are contiguous for `write`.
  static let headroom = 16
  static let headerOffset = headroom - VirtioNetHeader.byteCount
  private static let wakeupToken = UInt64.max
  /// Tokens at or above this are NAT uplinks' physical sockets.
  static let uplinkTokenBase: UInt64 = 1 << 32
  private static let sweepInterval: UInt64 = 1_000_000_000

  /// Makes a datapath over `bridges` and their `ports` (listed switch by switch,
  /// port by port, so that `ports` holds every port of every bridge once).
  /// `attachedInterfaces[i]` names the interface of packet-socket port `i` (nil for others).
  /// `routers` are the NAT uplinks whose lab side is a `.router` port.
  /// `mtus[i]` is port `i`'s MTU (default 1500): longer frames that are not GSO
  /// superframes are dropped as `oversize`. `acceptsOffloads[i]` false (default
  /// true) makes frames sent out of port `i` MTU-sized with complete checksums.
  /// After a wakeup that found work the loop polls for `busyPoll` before it
  /// sleeps again (`run()` says why), or, with `adaptsBusyPoll`, for a window
  /// it learns of at most `busyPoll` (`BusyPoller`).
  public init(
    bridges: [Bridge], ports: [DatapathPort], attachedInterfaces: [String?]? = nil,
    routers: [DatapathUplink] = [], mtus: [Int]? = nil, acceptsOffloads: [Bool]? = nil,
    busyPoll: Duration = .zero, adaptsBusyPoll: Bool = false
  ) throws(SystemCallError) {
    self.busyPollNanoseconds = busyPoll.nanoseconds
    self.isBusyPollAdaptive = adaptsBusyPoll
    self.bridges = bridges
    self.routers = routers.map(\.router)
    self.uplinks = routers
    self.ports = ports
    self.attachedInterfaces = attachedInterfaces ?? Array(repeating: nil, count: ports.count)
    self.isHeldDown = Array(repeating: false, count: ports.count)
    self.handsOff = Array(repeating: false, count: ports.count)
    var bases: [Int] = []
    var next = 0
    for bridge in bridges {
      bases.append(next)
      next += bridge.portCount
    }
    precondition(next == ports.count, "every bridge port needs exactly one datapath port")
    self.portBase = bases
    self.epoll = try Epoll()
    self.wakeup = try checked("eventfd", "datapath") { pb_eventfd_create() }
    // Each patch-cable hop may add a 4-byte tag.
    let capacity = Datapath.headroom + Datapath.bufferSize + 4 * (bridges.count + 1)
    self.buffers = (0..<bridges.count).map { _ in .allocate(byteCount: capacity, alignment: 64) }
    self.vector = .allocate(capacity: 4)
    self.headerBytes = .allocate(byteCount: VirtioNetHeader.byteCount, alignment: 4)
    self.tagBytes = .allocate(byteCount: VLANTag.byteCount, alignment: 4)
    let slotSize = Datapath.headroom + Datapath.bufferSize
    let slotCount = Datapath.receiveBatch
    self.slotMemory = .allocate(byteCount: max(1, slotCount * slotSize), alignment: 64)
    self.slots = .allocate(capacity: max(1, slotCount))
    for index in 0..<slotCount {
      slots[index] = pb_rx_slot(
        data: slotMemory.baseAddress!.advanced(by: index * slotSize)
          .assumingMemoryBound(to: UInt8.self),
        capacity: UInt32(slotSize), frame_offset: 0, frame_length: 0, tag_status: 0, tag_tpid: 0,
        tag_control: 0)
    }
    self.sendQueues = ports.map { port in
      port.kind == .packetSocket ? pb_tx_queue_create(Int32(Datapath.receiveBatch)) : nil
    }
    self.sinks = zip(ports, sendQueues).map { PortSink($0, batch: $1) }
    self.pendingSends = []
    self.pendingSends.reserveCapacity(ports.count)
    self.isSendPending = Array(repeating: false, count: ports.count)
    self.sentLengths = .allocate(capacity: Datapath.receiveBatch)
    self.batchFrames = .allocate(capacity: Datapath.receiveBatch)
    self.batchDecisions = .allocate(capacity: Datapath.receiveBatch)
    self.isIngressLimited = Array(repeating: false, count: ports.count)
    self.ingressQueues = Array(repeating: nil, count: ports.count)
    self.isEgressLimited = Array(repeating: false, count: ports.count)
    self.egressQueues = Array(repeating: nil, count: ports.count)
    self.meters = Array(repeating: RateMeter(), count: ports.count)
    self.maximumFrameLengths = (mtus ?? Array(repeating: 1500, count: ports.count)).map {
      FrameAdmission.maximumFrameLength(mtu: $0)
    }
    self.isSegmenting = (acceptsOffloads ?? Array(repeating: true, count: ports.count)).map { !$0 }
    self.offloadFraming = .allocate(byteCount: capacity, alignment: 64)
    self.offloadSegments = .allocate(byteCount: capacity, alignment: 64)
    self.offloadSegmentCapacity = capacity - Datapath.headroom
    self.isTappedIn = Array(repeating: false, count: ports.count)
    self.isTappedOut = Array(repeating: false, count: ports.count)
    self.tapRanges = Array(repeating: 0..<0, count: ports.count)
    self.captureScratch = .allocate(byteCount: capacity, alignment: 64)
    self.routerScratch = .allocate(byteCount: capacity, alignment: 64)
    self.routerOutput = .allocate(byteCount: capacity, alignment: 64)
    try epoll.add(wakeup, token: Datapath.wakeupToken)
    for (index, uplink) in routers.enumerated() where uplink.descriptor >= 0 {
      try epoll.add(uplink.descriptor, token: Datapath.uplinkTokenBase + UInt64(index))
    }
    for (index, port) in ports.enumerated() where port.descriptor >= 0 {
      try epoll.add(port.descriptor, token: UInt64(index))
    }
  }

  deinit {
    for buffer in buffers { buffer.deallocate() }
    vector.deallocate()
    for queue in sendQueues { if let queue { pb_tx_queue_destroy(queue) } }
    sentLengths.deallocate()
    batchFrames.deallocate()
    batchDecisions.deallocate()
    for queue in ingressQueues + egressQueues { queue?.ring.deallocate() }
    slots.deallocate()
    slotMemory.deallocate()
    for port in ports where port.kind == .packetSocket && port.descriptor >= 0 {
      Glibc.close(port.descriptor)
    }
    headerBytes.deallocate()
    tagBytes.deallocate()
    captureScratch.deallocate()
    offloadFraming.deallocate()
    offloadSegments.deallocate()
    routerScratch.deallocate()
    routerOutput.deallocate()
    for uplink in uplinks where uplink.descriptor >= 0 { Glibc.close(uplink.descriptor) }
    Glibc.close(wakeup)
  }

  /// Starts the datapath thread.
  public func start() {
    let thread = Thread { [self] in
      self.run()
      self.finished.signal()
    }
    thread.name = "patchbay-datapath"
    self.thread = thread
    thread.start()
  }

  /// Stops the datapath thread and waits for it to finish its current batch.
  public func stop() {
    guard thread != nil else { return }
    perform { $0.isRunning = false }
    finished.wait()
    thread = nil
  }

  /// Runs `body` on the datapath thread between batches and returns its result.
  /// For the control plane: it allocates, so never call it per frame.
  public func perform<Result>(_ body: @escaping @Sendable (Datapath) -> Result) -> Result {
    guard thread != nil else { return body(self) }
    let slot = ResultSlot<Result>()
    commands.withLock { queue in
      queue.append { [self] in
        slot.value = body(self)
        slot.done.signal()
      }
    }
    var one: UInt64 = 1
    _ = Glibc.write(wakeup, &one, 8)
    slot.done.wait()
    return slot.value!
  }

  // Busy polling (`busy-poll`, adaptive by default): waking a
  // sleeping thread on another vCPU is most of a round trip's cost through a
  // userspace switch (a ping's RTT here was 58 µs sleeping, 11 µs polling).
  // So for a window after a wakeup that found work (BusyPoller), the loop asks
  // epoll without waiting and yields the CPU between asks: a frame that
  // arrives in the window finds the thread awake, and the hosts' processes
  // still get the CPU whenever they want it (spinning without yielding took
  // it from them: 118 µs). An idle lab sleeps.
  //
  // Under load polling is the wrong trade: each poll finds a frame or two, so
  // a frame costs an epoll_wait and a read that finds nothing besides its own
  // read and write, where a sleeping loop wakes to a batch (64-byte UDP: 135
  // kpps sleeping, 105 polling). So more than `BusyPoller.wakeupLimit` wakeups
  // with work in a millisecond stop the polling until the next millisecond.
  private func run() {
    // Foundation names a Thread only for itself; `top -H` and /proc read the kernel's name.
    _ = pb_thread_set_name(
      workers.isActive ? "patchbay-dp\(workers.index)" : "patchbay-dp")
    startRouters(at: MonotonicClock.now())
    var poller = BusyPoller(maximum: busyPollNanoseconds, isAdaptive: isBusyPollAdaptive)
    while isRunning {
      let ready = epoll.wait(timeoutNanoseconds: poller.isPolling ? 0 : waitTimeout())
      // One clock read per wakeup: every frame of the batch shares `now`.
      let now = MonotonicClock.now()
      if poller.note(ready: ready, at: now.nanoseconds) { sched_yield() }
      service(ready: ready, at: now)
      // A second clock read, only while frames wait: the batch may have taken a while.
      finishTurn(at: now, releasingAt: nextDeparture != .max ? MonotonicClock.now() : now)
    }
  }

  /// One turn of the loop at `now`, without waiting: services every port
  /// that is ready, sends on the queued frames whose time has come, and does
  /// the once-a-second work when a second has passed since it last ran. The
  /// thread's loop is this, with a wait and a clock reading before each turn;
  /// tests call it on a datapath that was never started, with a manual clock.
  public func runOnce(at now: Instant) {
    service(ready: epoll.wait(timeoutNanoseconds: 0), at: now)
    finishTurn(at: now, releasingAt: now)
  }

  /// The first half of a turn: the `ready` tokens of the last wait, at `now`.
  @inline(__always)
  private func service(ready: Int, at now: Instant) {
    lastTurn = now
    for index in 0..<ready {
      let token = epoll.token(at: index)
      if token == Datapath.wakeupToken {
        runCommands()
      } else if token >= Datapath.uplinkTokenBase {
        serviceUplink(Int(token - Datapath.uplinkTokenBase), at: now)
      } else {
        service(port: Int(truncatingIfNeeded: token), at: now)
      }
    }
  }

  /// The second half of a turn: releases queued frames due by `later` (the
  /// loop's second clock reading, or `now`), then the once-a-second work and
  /// the routers' output.
  @inline(__always)
  private func finishTurn(at now: Instant, releasingAt later: Instant) {
    if later.nanoseconds >= nextDeparture {
      lastTurn = later
      releaseQueuedFrames(at: later)
    }
    if now.nanoseconds(since: lastSweep) >= Datapath.sweepInterval {
      lastSweep = now
      for index in bridges.indices { bridges[index].expireEntries(at: now) }
      reattachPacketSockets()
      sampleRates(at: now)
      tickRouters(at: now)
    }
    if !routers.isEmpty { flushRouterOutput(at: now) }
    if workers.isActive { exchangeWithPeers(at: now) }
  }

  /// How long the loop may sleep: until the next queued frame may leave, or a
  /// quarter second (for aging and reattaching) when none waits.
  @inline(__always)
  private func waitTimeout() -> Int64 {
    let idle: Int64 = 250_000_000
    guard nextDeparture != .max else { return idle }
    let now = MonotonicClock.now().nanoseconds
    guard nextDeparture > now else { return 0 }
    return min(Int64(clamping: nextDeparture - now), idle)
  }

  private func runCommands() {
    var count: UInt64 = 0
    _ = Glibc.read(wakeup, &count, 8)
    let pending = commands.withLock { queue in
      let taken = queue
      queue.removeAll()
      return taken
    }
    for command in pending { command() }
  }
}

/// Carries a control command's result back to the waiting control thread.
private final class ResultSlot<Value>: @unchecked Sendable {
  // Sendable: `value` is written once by the datapath thread before `done`
  // is signalled, and read by the waiting thread only after `done.wait()`.
  var value: Value?
  let done = DispatchSemaphore(value: 0)
}
