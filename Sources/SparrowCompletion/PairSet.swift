import SparrowCore
import SparrowMPI

/// (user, item) pairs to evaluate: a test set (its values are the truth) or
/// pairs to predict. Held by user rows on the ratings' user partition, with a
/// plan that fetches the item rows the pairs need.
public struct PairSet {
    public let pairs: DistributedCSR
    let layout: PartnerLayout

    /// Collective. `matrix` may be partitioned any way; its shape must be the ratings'.
    /// `sizeLine`: the line of the source file's size line, for a shape mismatch.
    public init(_ matrix: DistributedCSR, source: String, sizeLine: Int? = nil, ratings: DistributedRatings,
                communicator: Communicator) throws(SparrowError) {
        guard matrix.globalRows == ratings.users, matrix.globalColumns == ratings.items else {
            throw .input(file: source, line: sizeLine,
                         message: "is \(matrix.globalRows) × \(matrix.globalColumns), but the ratings are \(ratings.users) × \(ratings.items); the pairs must have the ratings' shape")
        }
        let nonFinite = communicator.allreduce(matrix.local.values.reduce(0) { $0 + (abs($1) <= DistributedRatings.largestRating ? 0 : 1) }, .sum)
        if nonFinite > 0 { throw RatingsProblem.nonFinite(count: nonFinite).error(source) }
        let duplicates = communicator.allreduce(matrix.mergedDuplicates, .sum)
        if duplicates > 0 { throw RatingsProblem.duplicates(count: duplicates).error(source) }
        let local = matrix.local, first = matrix.ownedRows.lowerBound
        var rows = [Int32](), columns = [Int32]()
        for i in 0..<local.rows {
            for p in local.rowRange(i) { rows.append(Int32(first + i)); columns.append(local.columnIndices[p]) }
        }
        pairs = try DistributedCSR.assemble(rows: matrix.globalRows, columns: matrix.globalColumns, rowIndices: rows,
                                            columnIndices: columns, values: local.values, balance: .rows,
                                            communicator: communicator, partition: ratings.byUser.partition)
        layout = try PartnerLayout(pairs.local, partnerPartition: ratings.byItem.partition, communicator: communicator)
    }

    /// Collective: the model's prediction for every stored pair (this rank's, in storage order).
    public func predictions(_ model: AlternatingMinimization, communicator: Communicator) throws(SparrowError) -> [Double] {
        let d = model.parameters.width
        let itemRows = try layout.plan.exchangeBlocks(model.items, width: d, communicator: communicator)
        let local = pairs.local
        var out = [Double](repeating: 0, count: local.nonzeros)
        model.users.withUnsafeBufferPointer { u in
            itemRows.withUnsafeBufferPointer { v in
                for i in 0..<local.rows {
                    for p in local.rowRange(i) {
                        out[p] = model.predict(user: u.baseAddress! + i * d, item: v.baseAddress! + Int(layout.slots[p]) * d)
                    }
                }
            }
        }
        return out
    }

    /// Collective: root-mean-square error of the predictions against the stored values.
    public func rmse(_ model: AlternatingMinimization, communicator: Communicator) throws(SparrowError) -> Double {
        let predicted = try predictions(model, communicator: communicator)
        var local = 0.0
        for (p, value) in pairs.local.values.enumerated() { local += (predicted[p] - value) * (predicted[p] - value) }
        let sums = communicator.allreduce([local, Double(pairs.local.nonzeros)], .sum)
        return sums[1] > 0 ? (sums[0] / sums[1]).squareRoot() : 0
    }

    /// Collective: the pairs with predicted values, as a distributed matrix of the same pattern.
    public func predictedMatrix(_ model: AlternatingMinimization, communicator: Communicator) throws(SparrowError) -> DistributedCSR {
        var result = pairs
        result.local.values = try predictions(model, communicator: communicator)
        return result
    }
}
