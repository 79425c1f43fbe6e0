"""What the benchmark scripts share for their outputs: the markdown table and
matplotlib (optional: without it a script still writes its CSV and table)."""


def write_markdown(path, lines):
    """Writes the table to `path` and prints it."""
    text = "\n".join(lines) + "\n"
    with open(path, "w") as out:
        out.write(text)
    print(text, end="")


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with a note) when it is not installed."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib not installed: no plot (pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
