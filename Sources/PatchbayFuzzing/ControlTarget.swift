import Foundation
import PatchbayControl
import PatchbayTopology

/// The `control` target: the input as the bytes a control connection carries,
/// read the three ways Patchbay reads one.
///
/// - The daemon: a request framed as `ControlServer` frames it (up to a
///   newline or the end), decoded, and acted on as far as that is pure: a
///   `setRate` request's port and settings parsed and its limits run.
/// - The CLI: the whole input as a response.
/// - `patchbay capture`: the input as a capture stream (kind, length, payload
///   messages), its JSON messages decoded as the CLI decodes them.
///
/// Checked: nothing traps, and whatever decodes encodes to JSON that decodes
/// to the same value.
public func fuzzControlMessages(_ bytes: UnsafeRawBufferPointer) {
  var offset = 0
  let framed = ControlFraming.request {
    guard offset < bytes.count else { return .end }
    defer { offset += 1 }
    return .byte(bytes[offset])
  }
  guard let framed else {
    invariant(bytes.count > ControlFraming.maximumRequestSize, "a short request was refused")
    return
  }
  invariant(framed.count <= bytes.count && !framed.contains(UInt8(ascii: "\n")), "framing")
  if let request = ControlFraming.decodeRequest(framed) {
    checkRoundTrip(request)
    // The bytes the CLI would send for it decode to it again.
    invariant(
      ControlFraming.encodeRequest(request).flatMap(ControlFraming.decodeRequest) == request,
      "a request as the CLI sends it decodes to itself")
    act(on: request)
  }
  let whole = Array(bytes)
  if let response = ControlFraming.decodeResponse(whole) { checkRoundTrip(response) }
  readStream(bytes)
}

/// What the daemon does with a request, short of a running lab.
private func act(on request: ControlRequest) {
  _ = request.command.isStreamed
  _ = request.validationProblem
  switch request {
  case .setRate(let text, let settings):
    if let reference = PortReference(text) {
      _ = reference.description
    }
    guard let limits = try? RateLimitSpec().updated(with: settings) else { return }
    RateLimits.run(limits)
    // A second change on top of the first, as a later `patchbay set` would make.
    if let again = try? limits.updated(with: settings) { RateLimits.run(again) }
  case .capture(let capture):
    for port in capture.ports { _ = PortReference(port) }
  case .status, .fdb, .shutdown, .nat:
    break
  }
}

/// A decoded value encodes, and decodes back to itself.
func checkRoundTrip<Value: Codable & Equatable>(_ value: Value) {
  guard let encoded = try? JSONEncoder().encode(value) else {
    fatalError("invariant violated: a decoded \(Value.self) does not encode: \(value)")
  }
  guard let decoded = try? JSONDecoder().decode(Value.self, from: encoded) else {
    fatalError("invariant violated: an encoded \(Value.self) does not decode: \(value)")
  }
  invariant(decoded == value, "\(Value.self) round trip: \(value) became \(decoded)")
}
