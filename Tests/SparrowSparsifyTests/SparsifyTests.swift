import Foundation
import SparrowCore
import SparrowFactor
@testable import SparrowSparsify
import XCTest

final class SparsifyTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func fixture(_ name: String) throws -> WeightedGraph {
        try GraphInput.read(Self.fixtures.appendingPathComponent(name).path).graph
    }

    func testGroundedSolveMeetsTheLaplacianOnAGraphWithTwoComponents() throws {
        // Two triangles, one with an excess diagonal (so one singular block, one SPD block).
        let g = WeightedGraph(vertices: 6, tails: [0, 1, 0, 3, 4, 3], heads: [1, 2, 2, 4, 5, 5], weights: [1, 2, 3, 1, 1, 4],
                              excess: [0, 0, 0, 0.5, 0, 0])
        let factor = try GroundedFactor(g)
        XCTAssertEqual(factor.groundedVertices, 1)
        var b = [1.0, -2, 0.5, 3, -1, 2]
        let x = try factor.solve(b)
        // Reference: the residual by the assembled matrix (a different path from applyLaplacian), on the range.
        let l = g.laplacian()
        let lx = l.multiply(x)
        b[0...2] = ArraySlice(b[0...2].map { $0 - (1.0 - 2 + 0.5) / 3 })
        for i in 0..<6 { XCTAssertEqual(lx[i], b[i], accuracy: 1e-12) }
        XCTAssertEqual(x[0] + x[1] + x[2], 0, accuracy: 1e-12)
    }
}
