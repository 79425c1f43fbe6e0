import SparrowCore
import SparrowMPI

/// Observed entries of an m × n matrix held twice, as Spark MLlib's ALS does:
/// by user rows (to solve user factors) and by item columns (to solve item
/// factors). Each side carries the exchange plan that brings it the other
/// side's factor rows: each factor row goes once to each rank that needs it,
/// in one all-to-all per half-sweep.
public struct DistributedRatings {
    /// Owned users × items (global item columns, sorted in each row).
    public let byUser: DistributedCSR
    /// Owned items × users (global user columns, sorted in each row).
    public let byItem: DistributedCSR
    public let users: Int
    public let items: Int
    public let observed: Int
    /// Mean of all observed values (the global bias).
    public let mean: Double
    let userSide: PartnerLayout
    let itemSide: PartnerLayout

    /// Partner factor rows this rank receives per sweep (both sides): what it holds besides its own rows.
    public var receivedRows: Int { userSide.plan.neededIndices.count + itemSide.plan.neededIndices.count }
    /// The most observations in one owned row or column (sizes the per-thread scratch).
    public var longestRow: Int {
        func longest(_ m: CSRMatrix) -> Int { (0..<m.rows).map { m.rowRange($0).count }.max() ?? 0 }
        return max(longest(byUser.local), longest(byItem.local))
    }

    /// Largest rating magnitude accepted (its square and sums of squares stay finite).
    public static let largestRating = 1e100

    /// Collective. `matrix` holds the ratings by user rows (any partition);
    /// refuses non-finite values and repeated (row, column) pairs, naming `source`.
    public init(_ matrix: DistributedCSR, source: String, communicator: Communicator) throws(SparrowError) {
        // A rating beyond 1e100 in magnitude would overflow the normal equations' products.
        let nonFinite = communicator.allreduce(matrix.local.values.reduce(0) { $0 + (abs($1) <= Self.largestRating ? 0 : 1) }, .sum)
        let duplicates = communicator.allreduce(matrix.mergedDuplicates, .sum)
        if nonFinite > 0 { throw RatingsProblem.nonFinite(count: nonFinite).error(source) }
        if duplicates > 0 { throw RatingsProblem.duplicates(count: duplicates).error(source) }
        byUser = matrix
        users = matrix.globalRows
        items = matrix.globalColumns
        // The item-major copy: every entry moves to the owner of its column, once.
        let local = matrix.local
        var itemIndices = [Int32](), userIndices = [Int32]()
        itemIndices.reserveCapacity(local.nonzeros)
        userIndices.reserveCapacity(local.nonzeros)
        let first = matrix.ownedRows.lowerBound
        for i in 0..<local.rows {
            for p in local.rowRange(i) {
                itemIndices.append(local.columnIndices[p])
                userIndices.append(Int32(first + i))
            }
        }
        byItem = try DistributedCSR.assemble(rows: items, columns: users, rowIndices: itemIndices, columnIndices: userIndices,
                                             values: local.values, balance: .nnz, communicator: communicator)
        observed = communicator.allreduce(local.nonzeros, .sum)
        mean = observed > 0 ? communicator.allreduce(local.values.reduce(0, +), .sum) / Double(observed) : 0
        userSide = try PartnerLayout(byUser.local, partnerPartition: byItem.partition, communicator: communicator)
        itemSide = try PartnerLayout(byItem.local, partnerPartition: byUser.partition, communicator: communicator)
    }
}

/// For one side's entries: the plan that fetches partner factor rows, and for
/// each stored entry the slot of its partner's row among the fetched rows.
struct PartnerLayout {
    let plan: ExchangePlan
    let slots: [Int32]

    init(_ local: CSRMatrix, partnerPartition: RowPartition, communicator: Communicator) throws(SparrowError) {
        // The plan finds the distinct partners (sorted; a bitmap over this rank's own block and a
        // sort of the rest, nothing sized by the global partner count), and the same IndexMap as
        // SpGEMM's and SpMV's gives each stored entry its partner's slot among the fetched rows.
        plan = try ExchangePlan(needing: local.columnIndices, partition: partnerPartition, communicator: communicator)
        let position = IndexMap(plan.neededIndices, window: partnerPartition.range(of: communicator.rank))
        slots = position.positions(of: local.columnIndices)
    }
}

/// What makes a ratings file unusable, located in the file when it is one.
enum RatingsProblem {
    case nonFinite(count: Int)
    case duplicates(count: Int)

    func error(_ source: String) -> SparrowError {
        switch self {
        case let .nonFinite(count):
            return .input(file: source, line: nil, message: "\(count) observed value\(count == 1 ? " is" : "s are") not finite or beyond \(DistributedRatings.largestRating) in magnitude")
        case let .duplicates(count):
            return .input(file: source, line: nil,
                          message: "\(count) entr\(count == 1 ? "y repeats" : "ies repeat") an earlier (row, column) pair; duplicates are refused (one observation per pair)")
        }
    }
}

extension RatingsFile {
    /// Rank-local, on a file already known to be unusable: the line of its first
    /// non-finite value or repeated pair, for a FILE:LINE message.
    public static func locate(_ error: SparrowError, in path: String) -> SparrowError {
        guard case let .input(file, nil, _) = error, file == path,
              let mapped = try? MappedFile(path: path),
              let header = try? MatrixMarketHeader.parse(mapped.bytes, isComplete: true, file: path),
              let parsed = try? MatrixMarket.parse(mapped.bytes, file: path) else { return error }
        var seen = Set<Int64>()
        var culprit: Int?
        for e in 0..<parsed.columnIndices.count {
            let value = header.field == .pattern ? 1 : parsed.values[e]
            if !(abs(value) <= DistributedRatings.largestRating) { culprit = e; break }
            let key = Int64(parsed.rowIndices[e]) * Int64(header.columns) + Int64(parsed.columnIndices[e])
            if !seen.insert(key).inserted { culprit = e; break }
        }
        guard let culprit else { return error }
        let data = UnsafeBufferPointer(rebasing: mapped.bytes[header.dataOffset...])
        let line = header.dataLine + DataLineParser.lineOffsetOfEntry(culprit, in: data)
        let what = header.field != .pattern && !(abs(parsed.values[culprit]) <= DistributedRatings.largestRating)
            ? "value \(parsed.values[culprit]) is not finite or beyond \(DistributedRatings.largestRating) in magnitude"
            : "entry (\(parsed.rowIndices[culprit] + 1), \(parsed.columnIndices[culprit] + 1)) repeats an earlier one; duplicates are refused (one observation per pair)"
        return .input(file: path, line: line, message: what)
    }
}

/// Reading ratings from a file: the distributed loader, then the checks above.
public enum RatingsFile {
    /// Collective.
    public static func load(_ path: String, threads: Int, communicator: Communicator) throws(SparrowError) -> DistributedRatings {
        var options = DistributedLoader.Options()
        options.threads = threads
        let matrix = try DistributedLoader.load(path: path, options: options, communicator: communicator)
        do {
            return try DistributedRatings(matrix, source: path, communicator: communicator)
        } catch {
            // Every rank got the same error; each locates the line itself (the file is mapped read-only).
            throw locate(error, in: path)
        }
    }
}
