import SparrowCore
import FuzzDriver

/// One input: the bytes are a Matrix Market file. Any input may be refused
/// with a SparrowError; none may crash, hang or allocate without bound (the
/// memory budget is pinned small so a hostile size line is refused).
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    MemoryBudget.limitPerRank = 256 << 20
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = try? MatrixMarket.parse(bytes, file: "fuzz.mtx", threads: 1).csr()
    return 0
}

fuzz(fuzzOneInput)
