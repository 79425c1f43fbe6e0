#!/usr/bin/python3
"""PETSc binary fixtures, written by PETSc itself (Debian's python3-petsc4py 3.18,
32-bit indices, real scalars) from the Matrix Market fixtures one directory up,
so the tests compare Sparrow's reader and writer with PETSc's own files.

Run: PETSC_DIR=/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real /usr/bin/python3 make.py

  west0067.petsc      west0067.mtx (67 × 67, 294 entries, general) via MatView
  bcspwr10.petsc      bcspwr10.mtx (symmetric, both triangles stored: 21842 entries)
  ramp67.petsc        the vector (1, 2, …, 67) / 8 via VecView
  west0067-64.petsc   west0067.petsc re-encoded with 8-byte integers, the layout of a
                      PETSc built --with-64-bit-indices (header, row lengths and column
                      indices widened; Debian ships no such build to write it)
"""
import struct
from petsc4py import PETSc


def read_mm(path):
    with open(path) as f:
        banner = f.readline().lower().split()
        line = f.readline()
        while line.startswith('%'):
            line = f.readline()
        m, n, nz = map(int, line.split())
        entries = []
        for _ in range(nz):
            w = f.readline().split()
            i, j = int(w[0]) - 1, int(w[1]) - 1
            x = 1.0 if banner[3] == 'pattern' else float(w[2])
            entries.append((i, j, x))
            if banner[4] == 'symmetric' and i != j:
                entries.append((j, i, x))
    return m, n, entries


def write_matrix(mtx, out):
    m, n, entries = read_mm(mtx)
    A = PETSc.Mat().createAIJ([m, n], nnz=max(1, n))
    A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, False)
    for i, j, x in entries:
        A.setValue(i, j, x, addv=PETSc.InsertMode.ADD_VALUES)
    A.assemble()
    viewer = PETSc.Viewer().createBinary(out, 'w')
    A.view(viewer)
    viewer.destroy()


write_matrix('../west0067.mtx', 'west0067.petsc')
write_matrix('../bcspwr10.mtx', 'bcspwr10.petsc')
x = PETSc.Vec().createSeq(67)
x.setArray([(k + 1) / 8 for k in range(67)])
viewer = PETSc.Viewer().createBinary('ramp67.petsc', 'w')
x.view(viewer)
viewer.destroy()

data = open('west0067.petsc', 'rb').read()
classid, m, n, nz = struct.unpack('>4i', data[:16])
ints = struct.unpack('>%di' % (m + nz), data[16:16 + 4 * (m + nz)])
with open('west0067-64.petsc', 'wb') as f:
    f.write(struct.pack('>4q', classid, m, n, nz))
    f.write(struct.pack('>%dq' % (m + nz), *ints))
    f.write(data[16 + 4 * (m + nz):])

# PETSc's viewer also writes a NAME.info options file beside each; nothing reads them here.
import os
for name in ('west0067', 'bcspwr10', 'ramp67'):
    if os.path.exists(name + '.petsc.info'):
        os.remove(name + '.petsc.info')
