import SparrowCore

extension Communicator {
    /// Runs `body` on the root only and makes its outcome everyone's: if it
    /// throws there, every rank throws the same error (so all exit alike).
    public func onRoot<T>(_ body: () throws(SparrowError) -> T) throws(SparrowError) -> T? {
        let outcome: Result<T?, SparrowError>
        if isRoot {
            do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        } else {
            outcome = .success(nil)
        }
        return try agree(outcome)
    }

    /// Runs `body` on every rank and fails everywhere if it failed anywhere.
    public func everywhere<T>(_ body: () throws(SparrowError) -> T) throws(SparrowError) -> T {
        let outcome: Result<T, SparrowError>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        return try agree(outcome)
    }

    /// One value per rank gathered as a per_rank report list.
    public func perRankReport(_ fields: [(String, Double)]) -> [[(String, JSONValue)]] {
        let columns = fields.map { field in allgather(field.1) }
        return (0..<size).map { r in
            [("rank", JSONValue.integer(r))] + fields.enumerated().map { k, field in
                let v = columns[k][r]
                return (field.0, v == v.rounded() && abs(v) < 1e15 ? JSONValue.integer(Int(v)) : .number(v))
            }
        }
    }
}
