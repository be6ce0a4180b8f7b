"""`python -m export`: the `export` command (`skeleton_zoo.cli.export`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("export")
