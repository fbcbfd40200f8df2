import Glibc
import PatchbayCore
import PatchbayWire
import Synchronization

/// One address a datapath thread learned, on its way to the others.
struct LearnedAddress {
  var switchIndex: Int
  var entry: MACTableJournalEntry
}

/// Where one datapath thread's peers leave it the addresses they learned.
final class LearnInbox: Sendable {
  /// How many wait: read once per turn without the lock.
  let waiting = Atomic<Int>(0)
  let addresses = Mutex<[LearnedAddress]>([])
}

/// What a datapath thread shares with the others of its `DatapathGroup`.
/// Empty (inactive) for a datapath that runs alone, which then pays one byte
/// load per frame and per turn for all of it.
struct WorkerLinks {
  /// Part of a group of more than one thread.
  var isActive = false
  /// This thread's index in its group; 0 is the owner.
  var index = 0
  /// Not the owner: frames for ports it hands off go into this ring.
  var handoff: HandoffRing?
  /// The owner's wakeup eventfd, written once per turn that handed frames off.
  var ownerWakeup: Int32 = -1
  var hasHandedOff = false
  /// The owner: the rings from every other thread.
  var inbound: [HandoffRing] = []
  /// Every thread's inbox, by index.
  var inboxes: [LearnInbox] = []
  /// Packet-socket ports' fanout groups, by global port (0: none).
  var fanoutGroups: [Int32] = []
  // Reused between turns, so learning allocates only when it grows.
  var outgoing: [LearnedAddress] = []
  var incoming: [LearnedAddress] = []
  var journal: [MACTableJournalEntry] = []
}

// A datapath in a group of threads (DatapathGroup.swift): every thread has
// every switch and a descriptor of every port, and switches what the kernel
// gives its own queues. What must happen in one place happens on the owner
// (thread 0): a port with a NAT router, a rate limit or a capture is served
// there, and the others hand it the frames for it (`handsOff`), arriving or
// leaving, through a ring each. Addresses a thread learns reach the others'
// copies of the switch through their inboxes, once per turn.
extension Datapath {
  /// Hands `frame` (its virtio-net header before it) to the owner, to arrive
  /// on or leave by port `global`; counts a drop when its ring is full.
  @inline(never)
  func handOff(
    _ frame: UnsafeRawBufferPointer, _ kind: HandoffKind, port global: Int,
    classified: IngressFrame
  ) {
    let header = HandoffHeader(
      kind: kind, global: Int32(global), classified: classified.rawValue)
    if let ring = workers.handoff, ring.push(frame, header) {
      workers.hasHandedOff = true
      return
    }
    let port = ports[global]
    if kind == .arriving {
      bridges[port.switchIndex].countRejected(
        .handoffFull, byteCount: frame.count, on: port.portIndex)
    } else {
      bridges[port.switchIndex].countTransmitDrop(.handoffFull, on: port.portIndex)
    }
  }

  /// Once per turn of a thread in a group: tells the others what it learned,
  /// learns what they told it, and moves handed-off frames (the owner serves
  /// them; the others wake it).
  func exchangeWithPeers(at now: Instant) {
    if bridges.contains(where: \.hasJournal) { publishLearned() }
    let inbox = workers.inboxes[workers.index]
    if inbox.waiting.load(ordering: .acquiring) > 0 { applyLearned(from: inbox) }
    if workers.index == 0 {
      serveHandoffs(at: now)
    } else if workers.hasHandedOff {
      workers.hasHandedOff = false
      var one: UInt64 = 1
      _ = Glibc.write(workers.ownerWakeup, &one, 8)
    }
  }

  private func publishLearned() {
    var outgoing = workers.outgoing
    var journal = workers.journal
    workers.outgoing = []
    workers.journal = []
    for index in bridges.indices where bridges[index].hasJournal {
      bridges[index].takeJournal(into: &journal)
      for entry in journal { outgoing.append(LearnedAddress(switchIndex: index, entry: entry)) }
      journal.removeAll(keepingCapacity: true)
    }
    for (index, inbox) in workers.inboxes.enumerated() where index != workers.index {
      inbox.addresses.withLock { $0.append(contentsOf: outgoing) }
      inbox.waiting.add(outgoing.count, ordering: .releasing)
    }
    outgoing.removeAll(keepingCapacity: true)
    workers.outgoing = outgoing
    workers.journal = journal
  }

  private func applyLearned(from inbox: LearnInbox) {
    var incoming = workers.incoming
    workers.incoming = []
    inbox.addresses.withLock { swap(&$0, &incoming) }
    inbox.waiting.subtract(incoming.count, ordering: .relaxed)
    for address in incoming { bridges[address.switchIndex].applyLearned(address.entry) }
    incoming.removeAll(keepingCapacity: true)
    workers.incoming = incoming
  }

  /// The owner: every frame the other threads handed over, in the order each
  /// handed them, through the same path as its own (the ring holds each frame
  /// until it is done with it, so nothing waits for a batch flush).
  private func serveHandoffs(at now: Instant) {
    for ring in workers.inbound {
      while let (header, frame) = ring.peek() {
        let port = ports[Int(header.global)]
        let bytes = UnsafeRawBufferPointer(frame)
        switch header.kind {
        case .arriving:
          handle(bytes, switchIndex: port.switchIndex, port: port.portIndex, at: now, depth: 0)
        case .leaving:
          transmit(
            bytes, IngressFrame(rawValue: header.classified), switchIndex: port.switchIndex,
            port: port.portIndex, at: now, depth: 0, isExclusive: true)
        }
        ring.removeHead()
      }
    }
  }

  /// Serves port `global` on the owner (true) or where its frames arrive.
  func setHandsOff(_ handsOff: Bool, port global: Int) {
    self.handsOff[global] = handsOff && workers.index != 0
  }
}
