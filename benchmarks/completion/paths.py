"""Where the completion benchmarks read and write: the repository, this folder,
the ignored work folder (downloads, generated data, reports) and the binary."""
import os

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "completion")
work = os.path.join(root, "benchmarks", "work", "completion")
sparrow = os.path.join(root, ".build", "release", "sparrow")
