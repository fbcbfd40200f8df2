import CLinuxNet
import Foundation
import Glibc
import PatchbayCore
import Synchronization

/// One port as the datapath sees it: the descriptor it reads and writes, and
/// where it sits in which switch.
public struct DatapathPort: Sendable {
  /// The descriptor (a TAP today; an AF_PACKET socket or a peer link later).
  public var descriptor: Int32
  /// The index of the port's switch in `Datapath.bridges`.
  public var switchIndex: Int
  /// The port's index within its switch.
  public var portIndex: Int

  /// Makes a port entry.
  public init(descriptor: Int32, switchIndex: Int, portIndex: Int) {
    self.descriptor = descriptor
    self.switchIndex = switchIndex
    self.portIndex = portIndex
  }
}

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
  public private(set) var bridges: [Bridge]
  private var ports: [DatapathPort]
  private let portBase: [Int]
  private let epoll: Epoll
  private let wakeup: Int32
  private let buffer: UnsafeMutableRawBufferPointer
  private var isRunning = true
  private var lastSweep = Instant.zero
  private let commands = Mutex<[@Sendable () -> Void]>([])
  private var thread: Thread?
  private let finished = DispatchSemaphore(value: 0)

  /// The most frames read from one port per wakeup, so one busy port cannot starve the rest.
  public static let burst = 64
  /// The receive buffer: the largest frame a TAP delivers without offloads, with room to spare.
  public static let bufferSize = 65_536
  private static let wakeupToken = UInt64.max
  private static let sweepInterval: UInt64 = 1_000_000_000

  /// Makes a datapath over `bridges` and their `ports` (listed switch by switch,
  /// port by port, so that `ports` holds every port of every bridge once).
  public init(bridges: [Bridge], ports: [DatapathPort]) throws(SystemCallError) {
    self.bridges = bridges
    self.ports = ports
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
    self.buffer = .allocate(byteCount: Datapath.bufferSize, alignment: 64)
    try epoll.add(wakeup, token: Datapath.wakeupToken)
    for (index, port) in ports.enumerated() {
      try epoll.add(port.descriptor, token: UInt64(index))
    }
  }

  deinit {
    buffer.deallocate()
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

  private func run() {
    while isRunning {
      let ready = epoll.wait(timeoutMilliseconds: 250)
      // One clock read per wakeup: every frame of the batch shares `now`.
      let now = MonotonicClock.now()
      for index in 0..<ready {
        let token = epoll.token(at: index)
        if token == Datapath.wakeupToken {
          runCommands()
        } else {
          service(port: Int(truncatingIfNeeded: token), at: now)
        }
      }
      if now.nanoseconds(since: lastSweep) >= Datapath.sweepInterval {
        lastSweep = now
        for index in bridges.indices { bridges[index].expireEntries(at: now) }
      }
    }
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

  /// Reads `port` until EAGAIN or a burst's worth, forwarding each frame.
  @inline(__always)
  private func service(port global: Int, at now: Instant) {
    let source = ports[global]
    let switchIndex = source.switchIndex
    let ingress = source.portIndex
    let base = buffer.baseAddress!
    for _ in 0..<Datapath.burst {
      let count = Glibc.read(source.descriptor, base, buffer.count)
      if count < 0 {
        let error = errno
        if error == EAGAIN || error == EINTR { return }
        // The interface is gone (namespace deleted, TAP removed): take the
        // port down and stop listening to it; the rest of the lab carries on.
        detach(port: global)
        return
      }
      if count == 0 { return }
      let frame = UnsafeRawBufferPointer(start: base, count: count)
      switch bridges[switchIndex].receive(frame, on: ingress, at: now) {
      case .forward(let egress, _):
        transmit(frame, switchIndex: switchIndex, port: egress)
      case .flood(let vlan):
        var sent = 0
        for egress in 0..<bridges[switchIndex].portCount
        where bridges[switchIndex].floods(to: egress, vlan: vlan, from: ingress) {
          transmit(frame, switchIndex: switchIndex, port: egress)
          sent += 1
        }
        if sent == 0 { bridges[switchIndex].countDrop(.noDestination, on: ingress) }
      case .drop:
        break
      }
    }
  }

  @inline(__always)
  private func transmit(_ frame: UnsafeRawBufferPointer, switchIndex: Int, port: Int) {
    let descriptor = ports[portBase[switchIndex] + port].descriptor
    let written = Glibc.write(descriptor, frame.baseAddress, frame.count)
    if written == frame.count {
      bridges[switchIndex].countTransmitted(byteCount: frame.count, on: port)
    } else {
      // EIO: the interface is down; anything else: the queue is full or the port is gone.
      let reason: DropReason = written < 0 && errno == EIO ? .portDown : .transmitFailed
      bridges[switchIndex].countDrop(reason, on: port)
    }
  }

  private func detach(port global: Int) {
    let entry = ports[global]
    epoll.remove(entry.descriptor)
    bridges[entry.switchIndex].setPort(entry.portIndex, isUp: false)
  }
}

/// Carries a control command's result back to the waiting control thread.
private final class ResultSlot<Value>: @unchecked Sendable {
  // Sendable: `value` is written once by the datapath thread before `done`
  // is signalled, and read by the waiting thread only after `done.wait()`.
  var value: Value?
  let done = DispatchSemaphore(value: 0)
}
