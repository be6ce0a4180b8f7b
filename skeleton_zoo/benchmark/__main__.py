"""`python -m skeleton_zoo.benchmark`, as `python -m skeleton_zoo benchmark` (`skeleton_zoo.cli.benchmark`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("benchmark")
