import PatchbayControl
import Testing

/// The daemon's checks of a capture request's fields, before anything starts.
@Suite struct CaptureRequestTests {
  func request(
    ports: [String] = ["core/h1"], snaplen: Int = 96, direction: String = "both",
    count: Int? = nil, filter: String? = nil
  ) -> CaptureRequest {
    CaptureRequest(
      ports: ports, filter: filter, snaplen: snaplen, direction: direction, count: count)
  }

  @Test func aRequestInRangeHasNoProblem() {
    #expect(request().problem == nil)
    #expect(request(snaplen: 262_144, direction: "in", count: 1).problem == nil)
  }

  @Test func eachFieldOutOfRangeIsOneLine() {
    #expect(request(ports: []).problem == "a capture needs at least one port")
    #expect(request(snaplen: -1).problem == "invalid snaplen -1: must be from 1 to 262144")
    #expect(request(snaplen: 0).problem == "invalid snaplen 0: must be from 1 to 262144")
    #expect(request(snaplen: 262_145).problem?.hasPrefix("invalid snaplen 262145") == true)
    #expect(request(count: 0).problem == "invalid count 0: must be at least 1")
    #expect(request(direction: "up").problem == "invalid direction 'up': use in, out or both")
    #expect(
      request(filter: String(repeating: "x", count: 9000)).problem?.hasPrefix("filter too long")
        == true)
  }
}
