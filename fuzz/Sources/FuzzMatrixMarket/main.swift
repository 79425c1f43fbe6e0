import SparrowCore

/// libFuzzer entry: the bytes are a Matrix Market file. Any input may be
/// refused with a SparrowError; none may crash, hang or allocate without bound
/// (the memory budget is pinned small so a hostile size line is refused).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMatrixMarket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    MemoryBudget.limitPerRank = 256 << 20
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = try? MatrixMarket.parse(bytes, file: "fuzz.mtx", threads: 1).csr()
    return 0
}
