import CPcap

/// Why a filter expression or a capture could not be set up, in one line.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
  /// The line.
  public var description: String

  /// Makes an error.
  public init(_ description: String) { self.description = description }
}

/// A tcpdump filter expression, compiled to classic BPF by libpcap and run on
/// frames inside the daemon (so frames that do not match are never copied).
public final class PacketFilter: @unchecked Sendable {
  // Sendable: the program is written once in `init` and only read afterwards
  // (bpf_filter does not modify it); it is freed in `deinit`.

  /// The expression as given.
  public let expression: String
  private var program: bpf_program

  /// Compiles `expression` for Ethernet frames of up to `snaplen` bytes; a
  /// mistake is a `CaptureError` with libpcap's own words.
  public init(_ expression: String, snaplen: Int = 262_144) throws(CaptureError) {
    self.expression = expression
    // A "dead" handle: libpcap compiles for a link type without opening anything.
    guard let handle = pcap_open_dead(DLT_EN10MB, Int32(clamping: snaplen)) else {
      throw CaptureError("cannot compile filter '\(expression)': libpcap is out of memory")
    }
    defer { pcap_close(handle) }
    var compiled = bpf_program()
    guard pcap_compile(handle, &compiled, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
      let reason = String(cString: pcap_geterr(handle))
      throw CaptureError("invalid filter '\(expression)': \(reason)")
    }
    program = compiled
  }

  deinit { pcap_freecode(&program) }

  /// The compiled instructions, for the datapath; valid while this filter lives.
  var instructions: UnsafePointer<bpf_insn> { UnsafePointer(program.bf_insns) }

  /// True when `frame` (all of it, as on the wire) matches.
  public func matches(_ frame: UnsafeRawBufferPointer) -> Bool {
    PacketFilter.run(instructions, on: frame)
  }

  /// Runs `instructions` on `frame`: true when it matches.
  @inline(__always)
  static func run(_ instructions: UnsafePointer<bpf_insn>, on frame: UnsafeRawBufferPointer) -> Bool
  {
    let length = UInt32(truncatingIfNeeded: frame.count)
    return bpf_filter(
      instructions, frame.baseAddress?.assumingMemoryBound(to: UInt8.self), length, length) != 0
  }
}
