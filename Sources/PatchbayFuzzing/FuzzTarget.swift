/// Patchbay's fuzz targets by the names `Scripts/fuzz` and `Fuzz/` use: each
/// runs one input through the code it covers and traps when a property fails.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// PatchbayWire's views and the bridge's forwarding decisions (`fuzzFrames`).
  case frame
  /// Virtio-net headers through the bridge's re-framing (`fuzzVirtioHeader`).
  case virtio
  /// A packet socket's stripped VLAN tag put back in front of its frame (`fuzzRetag`).
  case retag
  /// The topology loader and what a valid lab builds (`fuzzTopology`).
  case topology
  /// The control socket's request, response and capture stream decoders (`fuzzControlMessages`).
  case control
  /// The NAT uplink's router (`fuzzNAT`).
  case nat
  /// The DHCP message parser, server and client (`fuzzDHCP`).
  case dhcp
  /// pcapng read back and a capture ring's splitting of blocks between files (`fuzzPcapng`).
  case pcapng
  /// The capture control path: a capture request and the stream the CLI reads (`fuzzCaptureStream`).
  case capture
  /// `resources.json`, the record `down` and the janitor act on (`fuzzResources`).
  case resources

  /// Runs `input` through the target.
  public func run(_ input: UnsafeRawBufferPointer) {
    switch self {
    case .frame: fuzzFrames(input)
    case .virtio: fuzzVirtioHeader(input)
    case .retag: fuzzRetag(input)
    case .topology: fuzzTopology(input)
    case .control: fuzzControlMessages(input)
    case .nat: fuzzNAT(input)
    case .dhcp: fuzzDHCP(input)
    case .pcapng: fuzzPcapng(input)
    case .capture: fuzzCaptureStream(input)
    case .resources: fuzzResources(input)
    }
  }
}
