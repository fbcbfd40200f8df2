import CLinuxNet
import Glibc
import PatchbayWire
import SystemPackage

/// A TAP interface the switch creates and owns: the descriptor is the switch's
/// side, the interface is the host's (or any program's) NIC. Closing the
/// descriptor removes the interface, so a crashed daemon leaves no TAP behind.
public final class TapDevice: @unchecked Sendable {
  // Sendable: the descriptor is only read and written by the datapath thread
  // after set-up, and closed once by `close()` after the datapath stopped.

  /// The kernel's name for the interface (at creation; it may be renamed inside a namespace).
  public let interfaceName: String
  /// The non-blocking descriptor frames are read from and written to, each
  /// frame preceded by a 10-byte virtio-net header.
  public let descriptor: FileDescriptor
  /// Every queue's descriptor, `descriptor` first: one per datapath thread of
  /// a multi-queue TAP (the kernel spreads the interface's flows over them).
  public private(set) var queueDescriptors: [FileDescriptor]
  /// The TUN_F_* offloads the kernel accepted: with them the interface's side
  /// sends checksum-partial and GSO superframes (up to 64 KiB) instead of MTU-sized ones.
  public let offloads: UInt32
  private var isClosed = false

  private init(interfaceName: String, descriptor: FileDescriptor, offloads: UInt32) {
    self.interfaceName = interfaceName
    self.descriptor = descriptor
    self.queueDescriptors = [descriptor]
    self.offloads = offloads
  }

  /// The offloads asked for: checksum, TSO for IPv4 and IPv6 (with ECN), and USO
  /// where the kernel has it (6.2 and later).
  static let wantedOffloads: [UInt32] = [
    UInt32(
      PB_TUN_F_CSUM | PB_TUN_F_TSO4 | PB_TUN_F_TSO6 | PB_TUN_F_TSO_ECN | PB_TUN_F_USO4
        | PB_TUN_F_USO6),
    UInt32(PB_TUN_F_CSUM | PB_TUN_F_TSO4 | PB_TUN_F_TSO6 | PB_TUN_F_TSO_ECN),
    UInt32(PB_TUN_F_CSUM),
  ]

  /// Creates the TAP `name` with virtio-net headers, and with offloads unless
  /// `offloads` is false; fails if an interface of that name exists already
  /// (TUNSETIFF would otherwise attach to someone else's TAP).
  ///
  /// Without offloads (TUNSETOFFLOAD 0) the descriptor still carries a
  /// virtio-net header before every frame, so the datapath frames it like any
  /// TAP, but the kernel segments and checksums whatever the interface's side
  /// sends before the switch reads it.
  ///
  /// `queues` above 1 makes a multi-queue TAP with that many descriptors.
  public static func create(named name: String, offloads: Bool = true, queues: Int = 1)
    throws(SystemCallError) -> TapDevice
  {
    guard pb_if_index(name) == 0 else {
      throw SystemCallError(call: "create TAP", subject: name, errno: .fileExists)
    }
    var kernelName = [CChar](repeating: 0, count: 16)
    let flags: Int32 = queues > 1 ? 3 : 1
    let fd = try checked("TUNSETIFF", name) { pb_tap_open(name, flags, &kernelName) }
    let actual = kernelName.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    let tap = make(fd, named: actual, offloads: offloads)
    do throws(SystemCallError) {
      for _ in 1..<max(1, queues) {
        let queue = try checked("TUNSETIFF", actual) { pb_tap_open(actual, flags, nil) }
        tap.queueDescriptors.append(FileDescriptor(rawValue: queue))
        try? tap.setOffloads(on: queue, asked: offloads)
      }
    } catch {
      tap.close()
      throw error
    }
    return tap
  }

  /// A TAP over descriptor `fd`, with the offloads `offloads` asks for that the kernel takes.
  private static func make(_ fd: Int32, named actual: String, offloads: Bool) -> TapDevice {
    // Older kernels refuse unknown flags with EINVAL: offer less until one is taken.
    var accepted: UInt32 = 0
    guard offloads else {
      _ = pb_tap_set_offload(fd, 0)
      return TapDevice(interfaceName: actual, descriptor: FileDescriptor(rawValue: fd), offloads: 0)
    }
    for flags in wantedOffloads where pb_tap_set_offload(fd, flags) == 0 {
      accepted = flags
      break
    }
    return TapDevice(
      interfaceName: actual, descriptor: FileDescriptor(rawValue: fd), offloads: accepted)
  }

  /// Sets the interface's MTU.
  public func setMTU(_ mtu: Int) throws(SystemCallError) {
    try checked("SIOCSIFMTU", interfaceName) { pb_if_set_mtu(interfaceName, Int32(mtu)) }
  }

  /// Sets the interface's MAC address.
  public func setMAC(_ mac: MACAddress) throws(SystemCallError) {
    let octets = mac.octets
    try checked("SIOCSIFHWADDR", interfaceName) { pb_if_set_mac(interfaceName, octets) }
  }

  /// Brings the interface up (only valid while it is in this process's namespace).
  public func setUp() throws(SystemCallError) {
    try checked("SIOCSIFFLAGS", interfaceName) { pb_if_set_up(interfaceName, 1) }
  }

  /// Gives queue `fd` the offloads the first queue has.
  private func setOffloads(on fd: Int32, asked: Bool) throws(SystemCallError) {
    try checked("TUNSETOFFLOAD", interfaceName) { pb_tap_set_offload(fd, asked ? offloads : 0) }
  }

  /// Closes every queue's descriptor, which removes the interface. Idempotent.
  public func close() {
    guard !isClosed else { return }
    isClosed = true
    for queue in queueDescriptors { try? queue.close() }
  }

  deinit { close() }
}
