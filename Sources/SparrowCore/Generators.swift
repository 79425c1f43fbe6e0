/// Seeded matrix generators whose output depends only on their parameters,
/// never on how many ranks or threads produce it: every entry is a pure
/// function of (seed, entry index) through a counter-based generator, so
/// rank r can produce its share of the entries independently.
public enum CounterRandom {
    /// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The 64-bit random word number `counter` of stream `seed`.
    @inline(__always)
    public static func bits(seed: UInt64, counter: UInt64) -> UInt64 {
        mix(mix(seed ^ 0x5851_F42D_4C95_7F2D) ^ counter)
    }

    /// Uniform in (0, 1].
    @inline(__always)
    public static func unit(_ bits: UInt64) -> Double {
        Double((bits >> 11) + 1) * 0x1p-53
    }
}

/// What to generate. Parameters mirror the CLI flags and job-file keys.
public enum GeneratorSpec: Sendable, Equatable, CustomStringConvertible {
    /// R-MAT (Chakrabarti, Zhan, Faloutsos 2004) with Graph500 probabilities
    /// a = .57, b = c = .19, d = .05: 2^scale vertices, edgeFactor · 2^scale edges.
    case rmat(scale: Int, edgeFactor: Int, seed: UInt64)
    /// Erdős–Rényi G(n, m): n = 2^scale, m = edgeFactor · n uniformly random entries.
    case erdosRenyi(scale: Int, edgeFactor: Int, seed: UInt64)
    /// 5-point graph Laplacian of an n × n grid, plus `shift` on the diagonal.
    case grid2d(n: Int, shift: Double)
    /// 7-point graph Laplacian of an n × n × n grid, plus `shift` on the diagonal.
    case grid3d(n: Int, shift: Double)

    public var description: String {
        switch self {
        case let .rmat(s, e, seed): return "rmat scale=\(s) edge-factor=\(e) seed=\(seed)"
        case let .erdosRenyi(s, e, seed): return "er scale=\(s) edge-factor=\(e) seed=\(seed)"
        case let .grid2d(n, shift): return "grid2d n=\(n) shift=\(shift)"
        case let .grid3d(n, shift): return "grid3d n=\(n) shift=\(shift)"
        }
    }

    /// The generator's numeric options (flags of `sparrow generate`, keys of a job's `generate`).
    public enum Options {
        public static let scale = NumericOption("scale", 1...30)
        public static let edgeFactor = NumericOption("edge_factor", 1...1024)
        /// Grid sides: n² and n³ rows must stay below 2^31 (32-bit column indices).
        public static let side2d = NumericOption("n", 1...46_340)
        public static let side3d = NumericOption("n", 1...1_290)
        public static let shift = NumericOption("shift", real: 0, 1e300)
    }

    /// Checks sizes before any allocation; `naming` says how messages name the values.
    public func validate(_ naming: NumericOption.Naming = .flags) throws(SparrowError) {
        switch self {
        case let .rmat(scale, edgeFactor, _), let .erdosRenyi(scale, edgeFactor, _):
            _ = try Options.scale.checked(scale, naming)
            _ = try Options.edgeFactor.checked(edgeFactor, naming)
        case let .grid2d(n, shift):
            _ = try Options.side2d.checked(n, naming)
            _ = try Options.shift.checked(shift, naming)
        case let .grid3d(n, shift):
            _ = try Options.side3d.checked(n, naming)
            _ = try Options.shift.checked(shift, naming)
        }
    }

    public var dimension: Int {
        switch self {
        case let .rmat(scale, _, _), let .erdosRenyi(scale, _, _): return 1 << scale
        case let .grid2d(n, _): return n * n
        case let .grid3d(n, _): return n * n * n
        }
    }

    /// Number of work items: edges for random graphs, rows for grids.
    public var workItems: Int {
        switch self {
        case let .rmat(scale, ef, _), let .erdosRenyi(scale, ef, _): return ef << scale
        case .grid2d, .grid3d: return dimension
        }
    }

    /// Entries produced by work items `items` (duplicates not yet summed).
    public func triplets(items: Range<Int>) -> TripletBuilder {
        let n = dimension
        switch self {
        case let .rmat(scale, _, seed):
            var t = TripletBuilder(rows: n, columns: n, reservingCapacity: items.count)
            for e in items {
                var state = CounterRandom.bits(seed: seed, counter: UInt64(e))
                var row = 0, column = 0
                for _ in 0..<scale {
                    state = CounterRandom.mix(state)
                    let u = Double(state >> 11) * 0x1p-53
                    row <<= 1
                    column <<= 1
                    if u < 0.57 {
                    } else if u < 0.76 { column |= 1 }
                    else if u < 0.95 { row |= 1 }
                    else { row |= 1; column |= 1 }
                }
                t.append(row: row, column: column, value: CounterRandom.unit(CounterRandom.mix(state)))
            }
            return t
        case let .erdosRenyi(scale, _, seed):
            var t = TripletBuilder(rows: n, columns: n, reservingCapacity: items.count)
            let mask = UInt64(n - 1)
            for e in items {
                let a = CounterRandom.bits(seed: seed, counter: UInt64(e))
                let b = CounterRandom.mix(a)
                t.append(row: Int(a & mask), column: Int((a >> 32) & mask), value: CounterRandom.unit(b))
                _ = scale
            }
            return t
        case let .grid2d(side, shift):
            var t = TripletBuilder(rows: n, columns: n, reservingCapacity: items.count * 5)
            for k in items {
                let i = k / side, j = k % side
                var degree = 0.0
                for (di, dj) in [(-1, 0), (0, -1), (0, 1), (1, 0)] {
                    let a = i + di, b = j + dj
                    guard a >= 0, a < side, b >= 0, b < side else { continue }
                    t.append(row: k, column: a * side + b, value: -1)
                    degree += 1
                }
                t.append(row: k, column: k, value: degree + shift)
            }
            return t
        case let .grid3d(side, shift):
            var t = TripletBuilder(rows: n, columns: n, reservingCapacity: items.count * 7)
            for k in items {
                let i = k / (side * side), j = (k / side) % side, l = k % side
                var degree = 0.0
                for (di, dj, dl) in [(-1, 0, 0), (0, -1, 0), (0, 0, -1), (0, 0, 1), (0, 1, 0), (1, 0, 0)] {
                    let a = i + di, b = j + dj, c = l + dl
                    guard a >= 0, a < side, b >= 0, b < side, c >= 0, c < side else { continue }
                    t.append(row: k, column: (a * side + b) * side + c, value: -1)
                    degree += 1
                }
                t.append(row: k, column: k, value: degree + shift)
            }
            return t
        }
    }

    /// The whole matrix on this process (duplicates summed, columns sorted).
    public func matrix() -> CSRMatrix { triplets(items: 0..<workItems).csr() }
}
