#if canImport(Glibc)
import Glibc
#endif
import SparrowCore
import FuzzDriver

/// One input: the bytes are a PETSc binary file (the reader works on a path
/// with pread, so each input is written to a file in /dev/shm first). Any
/// input may be refused with a SparrowError; none may crash, hang or allocate
/// without bound (the memory budget is pinned small). Reads the whole file,
/// and rows 1..<3 and the last rows as one rank of a row split would.
let path = "/dev/shm/sparrow-fuzz-\(getpid()).petsc"

let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    MemoryBudget.limitPerRank = 256 << 20
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return 0 }
    if size > 0, let data { _ = write(fd, data, size) }
    close(fd)
    guard let header = try? MatrixMarket.readHeader(path: path), let petsc = header.petsc else { return 0 }
    _ = try? MatrixMarket.read(path: path).csr()
    if (try? petsc.checkMemory(file: path)) != nil {
        for owned in [0..<min(1, petsc.rows), min(1, petsc.rows)..<min(3, petsc.rows), max(0, petsc.rows - 2)..<petsc.rows] {
            _ = try? PETScBinary.denseRows(path: path, header: petsc, owned: owned)
        }
    }
    return 0
}

fuzz(fuzzOneInput)
