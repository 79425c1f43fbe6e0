import Foundation
import SparrowMPI
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

extension SparsifyTests {
    /// A seeded random connected graph: a path through every vertex plus random chords.
    static func randomGraph(_ n: Int, chords: Int, seed: UInt64) -> WeightedGraph {
        var tails: [Int32] = [], heads: [Int32] = [], weights: [Double] = []
        var seen = Set<Int>()
        for v in 1..<n { tails.append(Int32(v - 1)); heads.append(Int32(v)); weights.append(1 + Double(v % 3)); seen.insert((v - 1) * n + v) }
        var k: UInt64 = 0
        while tails.count < n - 1 + chords {
            k += 1
            let a = Int(CounterRandom.bits(seed: seed, counter: 2 * k) % UInt64(n)), b = Int(CounterRandom.bits(seed: seed, counter: 2 * k + 1) % UInt64(n))
            let (p, q) = (min(a, b), max(a, b))
            if p == q || seen.contains(p * n + q) { continue }
            seen.insert(p * n + q)
            tails.append(Int32(p)); heads.append(Int32(q)); weights.append(0.5 + Double(k % 5))
        }
        return WeightedGraph(vertices: n, tails: tails, heads: heads, weights: weights)
    }

    /// Dense symmetric eigenvalues by cyclic Jacobi rotations (a textbook reference, no LAPACK).
    static func jacobiEigenvalues(_ a: [Double], n: Int) -> [Double] {
        var m = a
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += m[i * n + j] * m[i * n + j] } }
            if off < 1e-22 { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(m[p * n + q]) > 1e-300 {
                    let theta = (m[q * n + q] - m[p * n + p]) / (2 * m[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let kp = m[k * n + p], kq = m[k * n + q]
                        m[k * n + p] = c * kp - s * kq; m[k * n + q] = s * kp + c * kq
                    }
                    for k in 0..<n {
                        let pk = m[p * n + k], qk = m[q * n + k]
                        m[p * n + k] = c * pk - s * qk; m[q * n + k] = s * pk + c * qk
                    }
                }
            }
        }
        return (0..<n).map { m[$0 * n + $0] }.sorted()
    }

    /// κ of the pencil (L_G + sI, L_H + sI) densely: eigenvalues of C⁻¹(L_G + sI)C⁻ᵀ with C Cᵀ = L_H + sI.
    static func denseKappa(_ g: WeightedGraph, _ h: WeightedGraph, shift: Double) -> Double {
        let n = g.vertices
        func dense(_ x: WeightedGraph) -> [Double] {
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { a[i * n + i] = shift }
            for e in 0..<x.edges {
                let p = Int(x.tails[e]), q = Int(x.heads[e]), w = x.weights[e]
                a[p * n + p] += w; a[q * n + q] += w; a[p * n + q] -= w; a[q * n + p] -= w
            }
            return a
        }
        var c = dense(h)
        for j in 0..<n {
            var d = c[j * n + j]
            for k in 0..<j { d -= c[j * n + k] * c[j * n + k] }
            c[j * n + j] = d.squareRoot()
            for i in (j + 1)..<n {
                var s = c[i * n + j]
                for k in 0..<j { s -= c[i * n + k] * c[j * n + k] }
                c[i * n + j] = s / c[j * n + j]
            }
            for i in 0..<j { c[i * n + j] = 0 }
        }
        // W = C⁻¹ A, then M = W C⁻ᵀ (= C⁻¹ (C⁻¹ Aᵀ)ᵀ since A is symmetric).
        func lowerSolveColumns(_ b: [Double]) -> [Double] {
            var x = b
            for col in 0..<n {
                for i in 0..<n {
                    var s = x[i * n + col]
                    for k in 0..<i { s -= c[i * n + k] * x[k * n + col] }
                    x[i * n + col] = s / c[i * n + i]
                }
            }
            return x
        }
        let w = lowerSolveColumns(dense(g))
        var wt = w
        for i in 0..<n { for j in 0..<n { wt[i * n + j] = w[j * n + i] } }
        let m = lowerSolveColumns(wt)
        let values = jacobiEigenvalues(m, n: n)
        return values.last! / values.first!
    }

    func testLanczosKappaMatchesADenseEigenvalueReference() throws {
        let g = Self.randomGraph(60, chords: 90, seed: 3)
        var p = SparsifierParameters()
        p.density = 1.2
        let s = try StaticSparsifier.run(g, p, components: Components(g))
        let h = s.graph(of: g)
        XCTAssertEqual(s.edges.count, 72)
        let estimate = try SpectralQuality.condition(g, h, steps: 60)
        let reference = Self.denseKappa(g, h, shift: 1e-6)
        XCTAssertEqual(estimate.kappa, reference, accuracy: 1e-6 * reference)
    }

    func testSpanningTreeSpansEveryComponent() throws {
        // Two random graphs side by side: 40 + 30 vertices, two components.
        let a = Self.randomGraph(40, chords: 50, seed: 1), b = Self.randomGraph(30, chords: 20, seed: 2)
        let g = WeightedGraph(vertices: 70, tails: a.tails + b.tails.map { $0 + 40 }, heads: a.heads + b.heads.map { $0 + 40 },
                              weights: a.weights + b.weights)
        let components = Components(g)
        XCTAssertEqual(components.count, 2)
        let tree = SpanningTree.shortestPathForest(g, components: components)
        XCTAssertEqual(tree.count, 68)
        var sets = DisjointSets(70)
        for e in tree { XCTAssertTrue(sets.union(Int(g.tails[e]), Int(g.heads[e])), "no cycle") }
    }

    func testEffectiveResistancesApproachTheExactOnes() throws {
        let g = Self.randomGraph(50, chords: 60, seed: 9)
        let factor = try GroundedFactor(g)
        let estimate = try ResistanceSampling.effectiveResistances(g, factor: factor, projections: 1024, seed: 4)
        // Exact: R_e = (e_p − e_q)ᵀ L⁺ (e_p − e_q), with L⁺ from the dense eigen-decomposition-free route of a grounded Gaussian elimination.
        let n = g.vertices
        var l = [Double](repeating: 0, count: (n - 1) * (n - 1))
        for e in 0..<g.edges {
            let p = Int(g.tails[e]), q = Int(g.heads[e]), w = g.weights[e]
            if p < n - 1 { l[p * (n - 1) + p] += w }
            if q < n - 1 { l[q * (n - 1) + q] += w }
            if p < n - 1, q < n - 1 { l[p * (n - 1) + q] -= w; l[q * (n - 1) + p] -= w }
        }
        func solve(_ b: [Double]) -> [Double] { // Gaussian elimination on a copy (vertex n−1 grounded).
            var a = l, x = b
            let m = n - 1
            for k in 0..<m {
                for i in (k + 1)..<m {
                    let f = a[i * m + k] / a[k * m + k]
                    if f == 0 { continue }
                    for j in k..<m { a[i * m + j] -= f * a[k * m + j] }
                    x[i] -= f * x[k]
                }
            }
            for i in stride(from: m - 1, through: 0, by: -1) {
                var s = x[i]
                for j in (i + 1)..<m { s -= a[i * m + j] * x[j] }
                x[i] = s / a[i * m + i]
            }
            return x
        }
        var worst = 0.0
        for e in 0..<g.edges {
            let p = Int(g.tails[e]), q = Int(g.heads[e])
            var b = [Double](repeating: 0, count: n - 1)
            if p < n - 1 { b[p] += 1 }
            if q < n - 1 { b[q] -= 1 }
            let x = solve(b)
            let exact = (p < n - 1 ? x[p] : 0) - (q < n - 1 ? x[q] : 0)
            worst = max(worst, abs(estimate[e] - exact) / exact)
        }
        XCTAssertLessThan(worst, 0.25, "JL with 1024 projections: every estimate within 25 %")
    }

    func testInsertionAlongAShortPathIsRedundantAndADeletionRestoresConnectivity() throws {
        // G: a cycle 0–1–…–9–0 plus the chord (0, 2); H: the path 0–1–…–9 (the cycle less (9, 0)).
        let n = 10
        var tails = (0..<(n - 1)).map { Int32($0) }, heads = (1..<n).map { Int32($0) }
        tails += [0, 0]; heads += [9, 2]
        let g = WeightedGraph(vertices: n, tails: tails, heads: heads, weights: [Double](repeating: 1, count: n + 1))
        let h = g.subgraph(keeping: Array(0..<(n - 1)))
        var dynamic = DynamicSparsifier(graph: g, sparsifier: h, seed: 1, distortion: 5)
        let communicator = Communicator.initialize()
        // (3, 5): H has the path 3–4–5 (w·R = 2 < 5): redundant. (0, 7): the H path has resistance 7 ≥ 5: added.
        // Deleting (4, 5), which H holds, must reconnect 4 and 5 through G (the long way round: 4–3–2–0–9–…–5).
        let outcome = try dynamic.apply([EdgeUpdate(insert: true, p: 3, q: 5), EdgeUpdate(insert: true, p: 0, q: 7)], batches: 1, communicator: communicator)
        XCTAssertEqual(outcome.redundant, 1)
        XCTAssertEqual(outcome.addedToH, 1)
        let after = try dynamic.apply([EdgeUpdate(insert: false, p: 4, q: 5)], batches: 1, communicator: communicator)
        XCTAssertEqual(after.deletedFromH, 1)
        let final = dynamic.currentSparsifier()
        XCTAssertEqual(Components(final).count, 1, "H is connected again")
        let gFinal = dynamic.currentGraph()
        for e in 0..<final.edges { XCTAssertNotNil(DynamicGraph(gFinal).weight(final.tails[e], final.heads[e]), "H ⊆ G") }
    }

    func testUpdateStreamLinesAreReadOrRefusedWithTheirLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sparsify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.txt").path
        try "% comment\n+ 1 2 2.5\n+3 4\n\n- 2 1\n".write(toFile: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try EdgeUpdate.read(good, vertices: 4),
                       [EdgeUpdate(insert: true, p: 0, q: 1, weight: 2.5, line: 2), EdgeUpdate(insert: true, p: 2, q: 3, line: 3),
                        EdgeUpdate(insert: false, p: 0, q: 1, line: 5)])
        let bad = directory.appendingPathComponent("bad.txt").path
        try "+ 1 2\n- 2 2\n".write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EdgeUpdate.read(bad, vertices: 4)) { error in
            XCTAssertEqual((error as? SparrowError)?.description, "\(bad):2: self-loop at vertex 2: an update joins two different vertices")
        }
    }

    /// A CRLF stream reads as its LF twin (it used to read as one comment line: no update applied).
    func testCRLFStreamReadsLikeItsLFTwinAndMessagesEscapeControlCharacters() throws {
        let lf = Array("% made on Windows\n+ 1 2 2.5\n- 3 4\n+ 2 3\n".utf8)
        let crlf = Array("% made on Windows\r\n+ 1 2 2.5\r\n- 3 4\r\n+ 2 3\r\n".utf8)
        let expected = try EdgeUpdate.parse(lf, file: "lf.txt", vertices: 4)
        XCTAssertEqual(expected.count, 3)
        XCTAssertEqual(try EdgeUpdate.parse(crlf, file: "crlf.txt", vertices: 4), expected)
        XCTAssertThrowsError(try EdgeUpdate.parse(Array("+ 1 2\r\n* 3\u{7}4\r\n".utf8), file: "s.txt", vertices: 4)) { error in
            XCTAssertEqual((error as? SparrowError)?.description, "s.txt:2: expected '+ p q [w]' or '- p q', got '* 3\\u{7}4'")
        }
        XCTAssertThrowsError(try EdgeUpdate.parse(Array("+ 1 2 1e308\n".utf8), file: "w.txt", vertices: 4)) { error in
            XCTAssertTrue((error as? SparrowError)?.description.hasPrefix("w.txt:1: weight must be a positive number up to") ?? false, "\(error)")
        }
    }

    /// Replays the update-stream fuzzer's committed corpus (fuzz/corpus/updates): every input
    /// reads or is refused with its file and line; none crashes.
    func testEveryUpdateCorpusInputReadsOrIsRefusedWithItsLine() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/fuzz/corpus/updates"
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 10)
        var read = 0
        for name in names {
            let bytes = Array(FileManager.default.contents(atPath: corpus + "/" + name) ?? Data())
            do {
                _ = try EdgeUpdate.parse(bytes, file: name, vertices: 1000)
                read += 1
            } catch {
                XCTAssertTrue(error.lines.allSatisfy { $0.hasPrefix(name + ":") && $0.dropFirst(name.count + 1).first?.isNumber == true },
                              "errors name the file and line: \(error.lines)")
            }
        }
        XCTAssertGreaterThanOrEqual(read, 3, "the well-formed seeds read")
    }
}
