#if canImport(Glibc)
import Glibc
#endif
import SparrowCore
import SparrowMPI

/// AltMinComplete's initialization (Jain, Netrapalli, Sanghavi, "Low-rank
/// Matrix Completion using Alternating Minimization", STOC 2013, Alg. 2 step 2):
///
///     U₀ ← top-k left singular vectors of (mn/|Ω|)·P_Ω(M)
///     clip rows of U₀ whose norm exceeds 2·(RMS row norm)       (incoherence)
///
/// The singular vectors come from randomized subspace iteration (Halko,
/// Martinsson, Tropp 2011, Alg. 4.4) over the distributed observations, with
/// l = k + 10 columns, Cholesky-QR (twice) for orthonormality, and products
/// with M and Mᵀ done on the user and item sides with the same exchange plans
/// as the sweeps. Both factors start balanced: U₀ = Q·W·Σ^½, V₀ = Z·W·Σ^-½,
/// where Z = MᵀQ = V·Σ·Wᵀ. The random test matrix depends only on the seed and
/// the global item index, so every rank count starts from the same subspace.
enum SpectralInitialization {
    static func run(_ ratings: DistributedRatings, _ parameters: CompletionParameters, offset: Double,
                    communicator: Communicator) throws(SparrowError) -> (users: [Double], items: [Double]) {
        let k = parameters.rank, d = parameters.width
        let l = min(k + 10, min(ratings.users, ratings.items))
        let scale = Double(ratings.users) * Double(ratings.items) / Double(max(1, ratings.observed))
        let ownedItems = ratings.byItem.ownedRows, ownedUsers = ratings.byUser.ownedRows.count
        var omega = [Double](repeating: 0, count: ownedItems.count * l)
        for (row, item) in ownedItems.enumerated() {
            for c in 0..<l { omega[row * l + c] = gaussian(seed: parameters.seed, counter: UInt64(item * l + c)) }
        }
        var q = try multiply(ratings.byUser.local, ratings.userSide, by: omega, width: l, scale: scale, offset: offset, threads: parameters.threads, communicator)
        try orthonormalize(&q, rows: ownedUsers, width: l, communicator)
        var z: [Double] = []
        for _ in 0..<parameters.powerIterations {
            z = try multiply(ratings.byItem.local, ratings.itemSide, by: q, width: l, scale: scale, offset: offset, threads: parameters.threads, communicator)
            try orthonormalize(&z, rows: ownedItems.count, width: l, communicator)
            q = try multiply(ratings.byUser.local, ratings.userSide, by: z, width: l, scale: scale, offset: offset, threads: parameters.threads, communicator)
            try orthonormalize(&q, rows: ownedUsers, width: l, communicator)
        }
        z = try multiply(ratings.byItem.local, ratings.itemSide, by: q, width: l, scale: scale, offset: offset, threads: parameters.threads, communicator)
        // ZᵀZ = W Σ² Wᵀ (l × l, summed over ranks).
        var gram = [Double](repeating: 0, count: l * l)
        if !z.isEmpty { DenseKernels.gram(z, rows: ownedItems.count, width: l, into: &gram) }
        communicator.allreduceSumInPlace(&gram)
        guard let (eigenvalues, w) = DenseKernels.symmetricEigen(gram, order: l) else {
            throw .computation("spectral initialization: the eigensolver failed on the \(l) × \(l) projected problem")
        }
        // Largest k, in descending order (dsyev returns ascending).
        let order = (0..<k).map { l - 1 - $0 }
        let sigma = order.map { eigenvalues[$0].squareRoot().isNaN ? 0 : max(0, eigenvalues[$0]).squareRoot() }
        // U₀ = Q·W_k·Σ^½ and V₀ = Z·W_k·Σ^-½, row by row (each row l·k multiply-adds).
        var basis = [Double](repeating: 0, count: l * k) // W_k, row-major l × k
        for (c, column) in order.enumerated() { for a in 0..<l { basis[a * k + c] = w[column * l + a] } }
        let up = sigma.map { $0.squareRoot() }, down = sigma.map { $0 > 0 ? 1 / $0.squareRoot() : 0 }
        var users = project(q, rows: ownedUsers, l: l, basis: basis, k: k, width: d, factors: up, threads: parameters.threads)
        var items = project(z, rows: ownedItems.count, l: l, basis: basis, k: k, width: d, factors: down, threads: parameters.threads)
        clip(&users, rows: ownedUsers, globalRows: ratings.users, width: d, columns: k, communicator)
        clip(&items, rows: ownedItems.count, globalRows: ratings.items, width: d, columns: k, communicator)
        return (users, items)
    }

    /// Collective: Y = scale·(M − offset on observed entries)·X for this side's rows, X given as
    /// the partner side's owned blocks. Rows are spread over threads (each writes its own rows).
    private static func multiply(_ entries: CSRMatrix, _ layout: PartnerLayout, by owned: [Double], width l: Int, scale: Double,
                                 offset: Double, threads: Int, _ communicator: Communicator) throws(SparrowError) -> [Double] {
        let partners = try layout.plan.exchangeBlocks(owned, width: l, communicator: communicator)
        var y = [Double](repeating: 0, count: entries.rows * l)
        let ranges = entries.rowPointers.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: max(1, threads)) }
        y.withUnsafeMutableBufferPointer { out in
            let out = SharedPointer(out.baseAddress!)
            withReadPointers(partners, entries.values, layout.slots, entries.rowPointers) { source, values, slots, pointers in
                let source = SharedReadPointer(source), values = SharedReadPointer(values)
                let slots = SharedReadPointer(slots), pointers = SharedReadPointer(pointers)
                parallelTasks(ranges.count) { task in
                    for i in ranges[task] {
                        let row = out.base + i * l
                        for p in pointers[i]..<pointers[i + 1] {
                            let a = scale * (values[p] - offset), x = source.base + Int(slots[p]) * l
                            for c in 0..<l { row[c] += a * x[c] }
                        }
                    }
                }
            }
        }
        return y
    }

    /// Rank-local: out[i, c] = factors[c] · Σ_a block[i, a]·basis[a, c], into rows of `width` (bias column left 0).
    private static func project(_ block: [Double], rows: Int, l: Int, basis: [Double], k: Int, width d: Int, factors: [Double],
                                threads: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * d)
        let ranges = evenRanges(count: rows, parts: max(1, threads))
        out.withUnsafeMutableBufferPointer { o in
            let o = SharedPointer(o.baseAddress!)
            withReadPointers(block, basis, factors) { b, w, f in
                let b = SharedReadPointer(b), w = SharedReadPointer(w), f = SharedReadPointer(f)
                parallelTasks(ranges.count) { task in
                    for i in ranges[task] {
                        let row = o.base + i * d, source = b.base + i * l
                        for a in 0..<l {
                            let x = source[a], wa = w.base + a * k
                            for c in 0..<k { row[c] += x * wa[c] }
                        }
                        for c in 0..<k { row[c] *= f[c] }
                    }
                }
            }
        }
        return out
    }

    /// Collective: the rows of a distributed tall block made orthonormal (Cholesky-QR, twice).
    private static func orthonormalize(_ y: inout [Double], rows: Int, width l: Int, _ communicator: Communicator) throws(SparrowError) {
        for _ in 0..<2 {
            var gram = [Double](repeating: 0, count: l * l)
            if rows > 0 { DenseKernels.gram(y, rows: rows, width: l, into: &gram) }
            communicator.allreduceSumInPlace(&gram)
            var trace = 0.0
            for a in 0..<l { trace += gram[a * l + a] }
            // A rank-deficient block (fewer observed directions than l) gets a tiny shift.
            for a in 0..<l { gram[a * l + a] += 1e-13 * max(trace, 1e-300) }
            guard DenseKernels.choleskyFactor(&gram, order: l) else {
                throw .computation("spectral initialization: the observed matrix has no usable range (all observations zero?)")
            }
            y.withUnsafeMutableBufferPointer { block in
                for i in 0..<rows { DenseKernels.rightSolveUpper(gram, order: l, block.baseAddress! + i * l) }
            }
        }
    }

    /// Collective: rows of the first `columns` entries whose norm exceeds twice the RMS row norm are scaled back to it.
    private static func clip(_ block: inout [Double], rows: Int, globalRows: Int, width d: Int, columns k: Int, _ communicator: Communicator) {
        var local = 0.0
        for i in 0..<rows { for c in 0..<k { local += block[i * d + c] * block[i * d + c] } }
        let total = communicator.allreduce(local, .sum)
        let bound = 2 * (total / Double(max(1, globalRows))).squareRoot()
        for i in 0..<rows {
            var norm = 0.0
            for c in 0..<k { norm += block[i * d + c] * block[i * d + c] }
            norm = norm.squareRoot()
            if norm > bound, norm > 0 { for c in 0..<k { block[i * d + c] *= bound / norm } }
        }
    }

    /// A standard normal value from the counter-based stream (Box–Muller).
    static func gaussian(seed: UInt64, counter: UInt64) -> Double {
        let u1 = CounterRandom.unit(CounterRandom.bits(seed: seed, counter: counter << 1))
        let u2 = CounterRandom.unit(CounterRandom.bits(seed: seed, counter: counter << 1 | 1))
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
