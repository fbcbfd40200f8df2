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
  /// The non-blocking descriptor frames are read from and written to.
  public let descriptor: FileDescriptor
  private var isClosed = false

  private init(interfaceName: String, descriptor: FileDescriptor) {
    self.interfaceName = interfaceName
    self.descriptor = descriptor
  }

  /// Creates the TAP `name`; fails if an interface of that name exists already
  /// (TUNSETIFF would otherwise attach to someone else's TAP).
  public static func create(named name: String) throws(SystemCallError) -> TapDevice {
    guard pb_if_index(name) == 0 else {
      throw SystemCallError(call: "create TAP", subject: name, errno: .fileExists)
    }
    var kernelName = [CChar](repeating: 0, count: 16)
    let fd = try checked("TUNSETIFF", name) { pb_tap_open(name, 0, &kernelName) }
    let actual = kernelName.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return TapDevice(interfaceName: actual, descriptor: FileDescriptor(rawValue: fd))
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

  /// Closes the descriptor, which removes the interface. Idempotent.
  public func close() {
    guard !isClosed else { return }
    isClosed = true
    try? descriptor.close()
  }

  deinit { close() }
}
