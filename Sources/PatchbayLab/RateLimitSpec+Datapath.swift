import PatchbayCore
import PatchbayDatapath
import PatchbayTopology

extension RateLimitSpec {
  /// The spec whose `ingressLimit` and `egressLimit` are the limits `state`
  /// has in force; nil when the port is unlimited. Exact for every spec the
  /// topology and `patchbay set` allow: both directions share one burst, and
  /// a spec always limits something (a burst alone is refused).
  init?(_ state: PortRateState) {
    guard state.ingress != nil || state.egress != nil else { return nil }
    self.init(
      ingress: state.ingress?.bitsPerSecond.map(Rate.bitsPerSecond),
      egress: state.egress?.bitsPerSecond.map(Rate.bitsPerSecond),
      burst: (state.ingress?.burstBytes ?? state.egress?.burstBytes).map { Int($0) },
      ingressPPS: state.ingress?.packetsPerSecond, egressPPS: state.egress?.packetsPerSecond)
  }
}
