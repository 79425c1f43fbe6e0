#!/usr/bin/python3
"""PETSc binary fixtures, written by PETSc itself (Debian's petsc4py 3.18, real
scalars) from the Matrix Market fixtures one directory up, so the tests compare
Sparrow's reader and writer with PETSc's own files. Run it with each build:

  PETSC_DIR=/usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real /usr/bin/python3 make.py
      (python3-petsc4py-real3.18, 32-bit indices)
  PETSC_DIR=/usr/lib/petscdir/petsc64-3.18/x86_64-linux-gnu-real /usr/bin/python3 make.py
      (python3-petsc4py-64-real3.18, built --with-64-bit-indices)

  west0067.petsc      west0067.mtx (67 × 67, 294 entries, general) via MatView
  bcspwr10.petsc      bcspwr10.mtx (symmetric, both triangles stored: 21842 entries)
  ramp67.petsc        the vector (1, 2, …, 67) / 8 via VecView
  west0067-64.petsc   the same, from the 64-bit build: header, row lengths and
  ramp67-64.petsc     column indices (a vector's class id and length too) are 8 bytes
"""
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


wide = PETSc.IntType().itemsize == 8
suffix = '-64' if wide else ''
write_matrix('../west0067.mtx', 'west0067%s.petsc' % suffix)
if not wide:
    write_matrix('../bcspwr10.mtx', 'bcspwr10.petsc')
x = PETSc.Vec().createSeq(67)
x.setArray([(k + 1) / 8 for k in range(67)])
viewer = PETSc.Viewer().createBinary('ramp67%s.petsc' % suffix, 'w')
x.view(viewer)
viewer.destroy()

# PETSc's viewer also writes a NAME.info options file beside each; nothing reads them here.
import os
for name in ('west0067', 'bcspwr10', 'ramp67', 'west0067-64', 'ramp67-64'):
    if os.path.exists(name + '.petsc.info'):
        os.remove(name + '.petsc.info')
