import PatchbayLab
import Testing

@Suite struct TopologyRelativePathTests {
  @Test func relativePathsStartAtTheTopologyFile() {
    #expect(resolvedPath("img/k", topologyFile: "/labs/a/lab.yaml") == "/labs/a/img/k")
    #expect(resolvedPath("../k", topologyFile: "/labs/a/lab.yaml") == "/labs/k")
    #expect(resolvedPath("/abs/k", topologyFile: "/labs/a/lab.yaml") == "/abs/k")
  }
}
